// Trainer: the training loop of one run over a dp x tp ProcessGrid — micro-batches with gradient accumulation,
// data-parallel gradient averaging (buckets or ZeRO-1), global-norm clipping, AdamW with the LR schedule, periodic
// evaluation, rank-0 progress lines, JSON-lines metrics and their TensorBoard twin (runtime/metrics/). The same code
// serves every (dp, tp); the global batch and its windows are independent of the layout, so losses match the
// single-rank run.
#ifndef KACHI_RUNTIME_TRAIN_TRAINER_H_
#define KACHI_RUNTIME_TRAIN_TRAINER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <ostream>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "comm/process_grid.h"
#include "runtime/data/eval_loader.h"
#include "runtime/data/train_loader.h"
#include "runtime/model/gpt_model.h"
#include "runtime/model/profiling_ops.h"
#include "runtime/train/gradient_sync.h"
#include "runtime/train/optimizer.h"
#include "runtime/train/train_options.h"

namespace kachi {

// What one optimizer step did (identical on every rank of the grid).
struct StepResult {
  int64_t step = 0;         // 0-based index of the step just taken
  float loss = 0;           // mean token loss over the global batch
  double lr = 0;
  double grad_norm = 0;     // before clipping
  double seconds = 0;       // wall time of the step on this rank
  int64_t tokens = 0;       // tokens in the global batch
};

// Called by Run after every step, on every rank (collective work such as a checkpoint save is allowed). Returns the
// seconds the step stalled on it (logged when > 0), or an error that ends the run.
using AfterStepHook = std::function<absl::StatusOr<double>(const StepResult&)>;

class Trainer {
 public:
  // Checks the options against the grid (shape vs tp, batch divisibility, data present) and builds model, loaders
  // and optimizer; parameters are initialized from options.init_seed. Collective over grid.world().
  static absl::StatusOr<std::unique_ptr<Trainer>> Create(const TrainOptions& options, ProcessGrid* grid);

  // One optimizer step.
  absl::StatusOr<StepResult> Step();
  // Mean token loss over the validation windows (collective).
  absl::StatusOr<float> Evaluate();
  // Steps until options.steps, printing progress on rank 0 to `log` (may be null), evaluating every eval_every
  // steps and at the end, writing metrics (JSON lines, TensorBoard event files); `after_step` (may be empty) runs
  // after each step, and the stall it reports joins the progress line and metrics (ckpt_stall_ms).
  absl::Status Run(std::ostream* log, const AfterStepHook& after_step = {});

  // All buffer_size() parameters of this rank's model from / to host fp32 memory. In mixed precision the fp32
  // master weights are set (and the bf16 working copy rounded from them) / read; reading is then collective over
  // the data-parallel group when ZeRO-1 shards the master.
  absl::Status SetParameters(const float* host);
  absl::Status GetParameters(float* host);

  GptModel& model() { return *model_; }
  // The per-op timer between the model and its ops when options.profile_ops (null otherwise); starts disabled.
  ProfilingOps* profiler() { return profiler_.get(); }
  const TrainOptions& options() const { return options_; }
  TrainLoader& train_loader() { return *train_loader_; }
  ShardedAdamW& optimizer() { return *optimizer_; }
  // The data-parallel gradient averaging (buckets, ZeRO-1 shard, overlap counters).
  const GradientSync& gradient_sync() const { return *sync_; }
  int64_t step() const { return train_loader_->step(); }
  // Micro-steps per optimizer step on each rank.
  int accumulation_steps() const { return train_loader_->accumulation_steps(); }

 private:
  Trainer(const TrainOptions& options, ProcessGrid* grid);

  // One micro-step's forward and backward with the gradient buckets all-reduced while backward runs (the last
  // micro-step when options.overlap_grad_reduce applies); returns the micro-batch loss, else the first error of
  // backward or of a bucket.
  absl::StatusOr<float> ForwardBackwardOverlapped(const TokenBatch& batch, float grad_scale);
  // Makes device work visible to a collective (before) and the collective's result to device work (after).
  absl::Status BeforeCollective();
  absl::Status AfterCollective(Communicator& comm);

  TrainOptions options_;
  ProcessGrid* grid_;
  // The CUDA ops when options.kernels == "cuda" (null: the CPU ops). Declared first: everything below allocates
  // from it and must be destroyed before it.
  std::unique_ptr<ModelOps> owned_ops_;
  std::unique_ptr<ProfilingOps> profiler_;  // wraps the ops when options.profile_ops
  std::unique_ptr<GptModel> model_;
  std::optional<TrainLoader> train_loader_;
  std::optional<EvalLoader> eval_loader_;
  std::unique_ptr<GradientSync> sync_;
  std::unique_ptr<ShardedAdamW> optimizer_;
  OpsBuffer<float> shard_grads_;  // ZeRO-1: this rank's averaged gradient shard (fp32)
  OpsBuffer<Bf16> shard_grads_bf16_;  // the same in mixed precision
};

}  // namespace kachi

#endif  // KACHI_RUNTIME_TRAIN_TRAINER_H_
