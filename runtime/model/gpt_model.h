// GptModel: forward and backward of a GPT-2 transformer on one tensor-parallel rank, over the CPU reference
// kernels (kernels/) and a tensor-parallel Communicator. The Megatron pattern: the LayerNorm outputs feeding the
// column-parallel matmuls are replicated (their gradients all-reduced in backward), the row-parallel matmuls'
// partial outputs are all-reduced in forward; the embedding lookup is vocab-parallel (partial rows all-reduced) and
// the cross-entropy is vocab-parallel (row max, sum of exponentials and target logit all-reduced). With tp = 1 no
// communication happens. Parameters and gradients live in flat buffers laid out by ParameterLayout.
#ifndef KACHI_RUNTIME_MODEL_GPT_MODEL_H_
#define KACHI_RUNTIME_MODEL_GPT_MODEL_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "comm/communicator.h"
#include "runtime/model/activations.h"
#include "runtime/model/parameter_layout.h"

namespace kachi {

class GptModel {
 public:
  // A model of `shape` on rank tp->rank() of tp->size(); `tp` may be null for tp = 1 and must outlive the model.
  // The shape must pass ValidateShape for that width. The flat buffers are zero-padded to a multiple of
  // `pad_to_multiple` elements (ZeRO-1 splits them evenly across data-parallel ranks).
  GptModel(const GptShape& shape, Communicator* tp, int64_t pad_to_multiple = 1);

  const ParameterLayout& layout() const { return layout_; }
  const GptShape& shape() const { return layout_.shape(); }
  // Elements of the flat buffers: layout().total_size() rounded up to the padding multiple (padding stays zero).
  int64_t buffer_size() const { return static_cast<int64_t>(params_.size()); }
  // Flat parameter and gradient buffers (buffer_size() elements each).
  float* params() { return params_.data(); }
  const float* params() const { return params_.data(); }
  float* grads() { return grads_.data(); }
  const float* grads() const { return grads_.data(); }
  // Sets every gradient to zero.
  void ZeroGrads();

  // Forward and backward of one micro-batch (inputs and targets [batch, seq_len]); ACCUMULATES into grads() the
  // gradient of grad_scale * mean token loss. Returns the mean token loss of the micro-batch.
  absl::StatusOr<float> ForwardBackward(const int32_t* inputs, const int32_t* targets, int64_t batch,
                                        int64_t seq_len, float grad_scale);
  // Forward only; returns the mean token loss.
  absl::StatusOr<float> Loss(const int32_t* inputs, const int32_t* targets, int64_t batch, int64_t seq_len);
  // Forward of one sequence of `length` tokens; returns the full-vocabulary logits (real vocabulary only) of its
  // last position, identical on every tensor-parallel rank.
  absl::StatusOr<std::vector<float>> LastLogits(const int32_t* tokens, int64_t length);
  // This rank's logits [batch * seq_len, padded_vocab / tp] from the last forward pass (its vocabulary rows).
  const std::vector<float>& local_logits() const { return acts_.logits; }

 private:
  // Runs the forward pass into acts_ (loss per row into acts_.losses when targets is non-null).
  absl::Status Forward(const int32_t* inputs, const int32_t* targets, int64_t batch, int64_t seq_len);
  absl::Status Backward(const int32_t* inputs, const int32_t* targets, float grad_scale);
  // Sum over the tensor-parallel group, in place (no-op at tp = 1).
  absl::Status TpSum(float* data, int64_t count);
  absl::Status TpMax(float* data, int64_t count);
  float MeanLoss() const;

  Communicator* tp_;
  ParameterLayout layout_;
  std::vector<float> params_;
  std::vector<float> grads_;
  Activations acts_;
};

}  // namespace kachi

#endif  // KACHI_RUNTIME_MODEL_GPT_MODEL_H_
