// GptModel: forward and backward of a GPT-2 transformer on one tensor-parallel rank, over a ModelOps (the CPU
// reference kernels on host memory, or CUDA kernels on device memory) and a tensor-parallel Communicator. The Megatron pattern: the LayerNorm outputs feeding the
// column-parallel matmuls are replicated (their gradients all-reduced in backward), the row-parallel matmuls'
// partial outputs are all-reduced in forward; the embedding lookup is vocab-parallel (partial rows all-reduced) and
// the cross-entropy is vocab-parallel (row max, sum of exponentials and target logit all-reduced). With tp = 1 no
// communication happens. Parameters and gradients live in flat buffers laid out by ParameterLayout, in the ModelOps'
// memory (host for the CPU ops: params() may then be read and written directly).
#ifndef KACHI_RUNTIME_MODEL_GPT_MODEL_H_
#define KACHI_RUNTIME_MODEL_GPT_MODEL_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "comm/communicator.h"
#include "runtime/model/activations.h"
#include "runtime/model/model_ops.h"
#include "runtime/model/parameter_layout.h"

namespace kachi {

class GptModel {
 public:
  // A model of `shape` on rank tp->rank() of tp->size(); `tp` may be null for tp = 1 and must outlive the model.
  // The shape must pass ValidateShape for that width. The flat buffers are zero-padded to a multiple of
  // `pad_to_multiple` elements (ZeRO-1 splits them evenly across data-parallel ranks).
  // `ops` (default: the process's CPU ops) must outlive the model; with device memory, `tp` must take device
  // buffers (NCCL, or MPI's staging).
  GptModel(const GptShape& shape, Communicator* tp, int64_t pad_to_multiple = 1, ModelOps* ops = nullptr);

  const ParameterLayout& layout() const { return layout_; }
  const GptShape& shape() const { return layout_.shape(); }
  // Elements of the flat buffers: layout().total_size() rounded up to the padding multiple (padding stays zero).
  int64_t buffer_size() const { return params_.size(); }
  ModelOps& ops() { return *ops_; }
  // Flat parameter and gradient buffers (buffer_size() elements each).
  float* params() { return params_.data(); }
  const float* params() const { return params_.data(); }
  float* grads() { return grads_.data(); }
  const float* grads() const { return grads_.data(); }
  // Sets every gradient to zero.
  absl::Status ZeroGrads();
  // GPT-2 initialization from `seed` (InitializeParameters), in whichever memory the ops use.
  absl::Status Initialize(uint64_t seed);
  // Copies all buffer_size() parameters from / to host memory.
  absl::Status SetParameters(const float* host);
  absl::Status GetParameters(float* host) const;

  // Forward and backward of one micro-batch (inputs and targets [batch, seq_len]); ACCUMULATES into grads() the
  // gradient of grad_scale * mean token loss. Returns the mean token loss of the micro-batch.
  absl::StatusOr<float> ForwardBackward(const int32_t* inputs, const int32_t* targets, int64_t batch,
                                        int64_t seq_len, float grad_scale);
  // Forward only; returns the mean token loss.
  absl::StatusOr<float> Loss(const int32_t* inputs, const int32_t* targets, int64_t batch, int64_t seq_len);
  // Forward of one sequence of `length` tokens; returns the full-vocabulary logits (real vocabulary only) of its
  // last position, identical on every tensor-parallel rank.
  absl::StatusOr<std::vector<float>> LastLogits(const int32_t* tokens, int64_t length);
  // A host copy of this rank's logits [batch * seq_len, padded_vocab / tp] from the last forward pass.
  absl::StatusOr<std::vector<float>> LocalLogits() const;

 private:
  // Runs the forward pass into acts_ (loss per row into acts_.losses when targets is non-null).
  absl::Status Forward(const int32_t* inputs, const int32_t* targets, int64_t batch, int64_t seq_len);
  absl::Status Backward(float grad_scale);
  // Reduction over the tensor-parallel group, in place (no-op at tp = 1).
  absl::Status TpAllReduce(float* data, int64_t count, ReduceOp op);
  absl::Status TpSum(float* data, int64_t count);
  absl::Status TpMax(float* data, int64_t count);
  absl::StatusOr<float> MeanLoss() const;

  Communicator* tp_;
  ModelOps* ops_;
  ParameterLayout layout_;
  OpsBuffer<float> params_;
  OpsBuffer<float> grads_;
  Activations acts_;
};

}  // namespace kachi

#endif  // KACHI_RUNTIME_MODEL_GPT_MODEL_H_
