// ShardedAdamW: AdamW over a range of the flat parameter buffer (the whole buffer, or this rank's ZeRO-1 shard),
// with weight decay only on tensors marked decay in the ParameterLayout, fp32 moments for that range only, and
// global-norm gradient clipping whose norm is computed across tensor- and data-parallel ranks. In mixed precision
// the optimizer also keeps fp32 master weights for its range: bf16 gradients update the master, and the model's
// bf16 parameters are the master rounded (so a checkpoint of master + moments resumes bit for bit).
#ifndef KACHI_RUNTIME_TRAIN_OPTIMIZER_H_
#define KACHI_RUNTIME_TRAIN_OPTIMIZER_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "comm/communicator.h"
#include "runtime/model/model_ops.h"
#include "runtime/model/parameter_layout.h"
#include "runtime/train/gradient_sync.h"

namespace kachi {

// AdamW hyperparameters (the learning rate comes per step from the schedule).
struct AdamWOptions {
  double beta1 = 0.9;
  double beta2 = 0.95;
  double eps = 1e-8;
  double weight_decay = 0.1;
  double grad_clip = 1.0;  // max global L2 norm; <= 0 disables clipping
};

class ShardedAdamW {
 public:
  // Updates flat elements `range` (grads for exactly that range are passed to Step). `tp` and `dp` may be null.
  // `range_is_shard` says whether dp ranks hold different ranges (ZeRO-1), so the norm must sum across dp.
  // Parameters, gradients and moments live in `ops`' memory (default: the CPU ops).
  // `mixed_precision` keeps fp32 master weights for the range (set them with SetMaster before the first step).
  ShardedAdamW(const ParameterLayout& layout, FlatRange range, bool range_is_shard, Communicator* tp, Communicator* dp,
               AdamWOptions options, ModelOps* ops = nullptr, bool mixed_precision = false);

  // Global L2 norm of the gradients of the whole model: tensor-parallel-replicated tensors counted once, summed
  // across tp (and dp when sharded). `range_grads` holds the grads of range() (range().begin is element 0).
  absl::StatusOr<double> GlobalGradNorm(const float* range_grads);
  absl::StatusOr<double> GlobalGradNorm(const Bf16* range_grads);
  // Clips (scales range_grads so the global norm is at most grad_clip), then one AdamW step at `learning_rate` on
  // params[range]. Returns the global norm before clipping.
  absl::StatusOr<double> Step(float* params, float* range_grads, double learning_rate);
  // Mixed precision: the same with bf16 gradients (the clip scale is applied inside the update) on the fp32
  // master; params[range] (bf16) receive the rounded master.
  absl::StatusOr<double> Step(Bf16* params, const Bf16* range_grads, double learning_rate);
  // Mixed precision: sets the master weights of range() from host fp32 values (element 0 = range().begin).
  absl::Status SetMaster(const float* host_range);

  FlatRange range() const { return range_; }
  int64_t steps_taken() const { return step_; }
  // First and second moments of range() (checkpoints save them).
  OpsBuffer<float>& first_moment() { return m_; }
  OpsBuffer<float>& second_moment() { return v_; }
  // fp32 master weights of range() in mixed precision (empty otherwise).
  OpsBuffer<float>& master_weights() { return master_; }
  bool mixed_precision() const { return mixed_; }
  // OK, or ResourceExhausted when the moments or master weights could not be allocated in the ops' memory.
  absl::Status allocation_status() const;
  void set_steps_taken(int64_t step) { step_ = step; }

 private:
  // A contiguous run of range() (flat offsets [begin, end)).
  struct Run {
    int64_t begin = 0, end = 0;
    bool decay = false;  // for update runs: AdamW weight decay applies
  };

  // Consecutive tensors merged into as few op calls as possible: runs of equal weight decay for the AdamW update,
  // and runs of tensors counted in the gradient norm (tp-replicated tensors count on tp rank 0 only) for the sums
  // of squares — one call per run, so a tp = 1 norm is one reduction (and one device sync) instead of one per
  // tensor.
  std::vector<Run> update_runs_;
  std::vector<Run> norm_runs_;
  FlatRange range_;
  bool range_is_shard_;
  Communicator* tp_;
  Communicator* dp_;
  AdamWOptions options_;
  ModelOps* ops_;
  OpsBuffer<float> m_, v_;
  bool mixed_ = false;
  OpsBuffer<float> master_;  // mixed precision only
  int64_t step_ = 0;
  // The factor that clips gradients of global norm `norm` to grad_clip (1 when no clipping applies); DataLoss for
  // a non-finite norm (the run diverged).
  absl::StatusOr<float> ClipScale(double norm) const;
  // Sums the squares of the counted pieces of range_grads (float or Bf16) and reduces across ranks.
  template <typename G>
  absl::StatusOr<double> NormOf(const G* range_grads);
};

}  // namespace kachi

#endif  // KACHI_RUNTIME_TRAIN_OPTIMIZER_H_
