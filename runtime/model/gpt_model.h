// GptModel: forward and backward of a GPT-2 transformer on one tensor-parallel rank, over a ModelOps (the CPU
// reference kernels on host memory, or CUDA kernels on device memory) and a tensor-parallel Communicator. The Megatron
// pattern: the LayerNorm outputs feeding the column-parallel matmuls are replicated (their gradients all-reduced in
// backward), the row-parallel matmuls' partial outputs are all-reduced in forward; the embedding lookup is
// vocab-parallel (partial rows all-reduced) and the cross-entropy is vocab-parallel (row max, sum of exponentials and
// target logit all-reduced). With tp = 1 no communication happens. Parameters and gradients live in flat buffers laid
// out by ParameterLayout, in the ModelOps' memory (host for the CPU ops: params() may then be read and written
// directly). In mixed precision (compute dtype bf16) parameters, gradients and activations are bf16; the fp32 master
// weights live in the optimizer.
#ifndef KACHI_RUNTIME_MODEL_GPT_MODEL_H_
#define KACHI_RUNTIME_MODEL_GPT_MODEL_H_

#include <cstdint>
#include <functional>
#include <utility>
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
  // `compute` is DType::kFloat32 (default) or DType::kBFloat16 (mixed precision).
  GptModel(const GptShape& shape, Communicator* tp, int64_t pad_to_multiple = 1, ModelOps* ops = nullptr,
           DType compute = DType::kFloat32);

  const ParameterLayout& layout() const { return layout_; }
  const GptShape& shape() const { return layout_.shape(); }
  // Elements of the flat buffers: layout().total_size() rounded up to the padding multiple (padding stays zero).
  int64_t buffer_size() const { return buffer_size_; }
  // The backend, and its two sides: memory and stream (what callers outside the model use: downloads, events,
  // synchronization) and the kernels.
  ModelOps& ops() { return *ops_; }
  DeviceContext& device() { return *ops_; }
  KernelOps& kernels() { return *ops_; }
  // The type of parameters, gradients and activations: kFloat32, or kBFloat16 in mixed precision.
  DType compute_dtype() const { return compute_; }
  bool mixed_precision() const { return compute_ == DType::kBFloat16; }
  // Flat fp32 parameter and gradient buffers (buffer_size() elements each); null in mixed precision.
  float* params() { return params_.data(); }
  const float* params() const { return params_.data(); }
  float* grads() { return grads_.data(); }
  const float* grads() const { return grads_.data(); }
  // Flat bf16 parameter and gradient buffers in mixed precision (null otherwise).
  Bf16* params_bf16() { return params_bf16_.data(); }
  Bf16* grads_bf16() { return grads_bf16_.data(); }
  // Whichever of the two is in use (elements of compute_dtype()).
  void* param_data() { return mixed_precision() ? static_cast<void*>(params_bf16_.data()) : params_.data(); }
  void* grad_data() { return mixed_precision() ? static_cast<void*>(grads_bf16_.data()) : grads_.data(); }
  // OK, or ResourceExhausted when the parameter or gradient buffers could not be allocated in the ops' memory
  // (every call below that touches them then returns it).
  absl::Status allocation_status() const;
  // Sets every gradient to zero.
  absl::Status ZeroGrads();
  // GPT-2 initialization from `seed` (InitializeParameters), in whichever memory the ops use.
  absl::Status Initialize(uint64_t seed);
  // Copies all buffer_size() parameters from / to host fp32 memory (rounded to bf16 / widened in mixed precision).
  absl::Status SetParameters(const float* host);
  absl::Status GetParameters(float* host) const;

  // Activation recompute: keep only each block's output through the forward pass and recompute the rest of a
  // block just before its backward (gradients are the same; about a third more compute, much less memory). Takes
  // effect at the next forward pass.
  void set_activation_recompute(bool on) { recompute_ = on; }
  bool activation_recompute() const { return recompute_; }
  // Bytes the activations of the last forward pass hold in the ops' memory (0 before the first).
  int64_t activation_bytes() const { return mixed_precision() ? acts_bf16_.bytes() : acts_.bytes(); }

  // Forward and backward of one micro-batch (inputs and targets [batch, seq_len]); ACCUMULATES into grads() the
  // gradient of grad_scale * mean token loss. Returns the mean token loss of the micro-batch.
  absl::StatusOr<float> ForwardBackward(const int32_t* inputs, const int32_t* targets, int64_t batch, int64_t seq_len,
                                        float grad_scale);
  // Called during backward when every tensor with index >= first_final_tensor holds its final gradient for this
  // backward pass: after the final LayerNorm's backward, after each block's (last block first) and at the end (0).
  // With device memory the gradients are final in the compute stream's order (DeviceContext::RecordEvent marks that
  // point). A non-OK status ends the backward pass with it.
  using GradientsReadyHook = std::function<absl::Status(int first_final_tensor)>;
  // Installs `hook` for later backward passes; null (the default) means none.
  void set_gradients_ready_hook(GradientsReadyHook hook) { gradients_ready_hook_ = std::move(hook); }

  // Forward only; returns the mean token loss.
  absl::StatusOr<float> Loss(const int32_t* inputs, const int32_t* targets, int64_t batch, int64_t seq_len);
  // Forward of one sequence of `length` tokens; returns the full-vocabulary logits (real vocabulary only) of its
  // last position, identical on every tensor-parallel rank.
  absl::StatusOr<std::vector<float>> LastLogits(const int32_t* tokens, int64_t length);
  // A host copy of this rank's logits [batch * seq_len, padded_vocab / tp] from the last Loss() (a backward pass
  // overwrites them with their gradient).
  absl::StatusOr<std::vector<float>> LocalLogits() const;

 private:
  // Checks the micro-batch and runs the forward pass in the compute type (loss per row into the activations'
  // losses when targets is non-null).
  absl::Status Forward(const int32_t* inputs, const int32_t* targets, int64_t batch, int64_t seq_len);
  absl::Status Backward(float grad_scale);
  template <typename T>
  absl::Status ForwardT(Activations<T>& acts, const T* params, const int32_t* inputs, const int32_t* targets,
                        int64_t batch, int64_t seq_len);
  // The forward of block `layer` from its input and its ready first LayerNorm (Block(layer).ln_1); ends with the
  // residual add fused with the next LayerNorm (the next block's ln_1, or ln_f). `recomputing` stops after the
  // GELU (all the block's backward needs) and leaves the block output alone.
  template <typename T>
  absl::Status ForwardBlock(Activations<T>& acts, const T* params, int64_t layer, bool recomputing);
  // Block(layer).ln_1 = LayerNorm(block input), unfused (block 0, and recomputation).
  template <typename T>
  absl::Status BlockInputLayerNorm(Activations<T>& acts, const T* params, int64_t layer);
  template <typename T>
  absl::Status BackwardT(Activations<T>& acts, const T* params, T* grads, float grad_scale);
  // This rank's shard sizes: width, local width, MLP width, heads, head size, vocabulary rows and their start, and
  // how many of them are real tokens.
  struct LocalSizes;
  LocalSizes Local() const;
  // Runs the gradients-ready hook, if any, for tensors >= first_final_tensor.
  absl::Status GradientsFinalFrom(int first_final_tensor);
  // Reduction over the tensor-parallel group, in place (no-op at tp = 1).
  template <typename T>
  absl::Status TpAllReduce(T* data, int64_t count, ReduceOp op);
  // This micro-batch's per-row losses and logits, whichever precision ran.
  const OpsBuffer<float>& Losses() const { return mixed_precision() ? acts_bf16_.losses : acts_.losses; }
  absl::StatusOr<float> MeanLoss() const;
  // Host fp32 copy of `count` elements of the compute-type array at `data` (float* or Bf16*).
  absl::Status DownloadAsFloat(float* host, const void* data, int64_t count) const;

  Communicator* tp_;
  ModelOps* ops_;
  DType compute_;
  bool recompute_ = false;
  ParameterLayout layout_;
  int64_t buffer_size_ = 0;
  OpsBuffer<float> params_, grads_;           // fp32 compute
  OpsBuffer<Bf16> params_bf16_, grads_bf16_;  // mixed precision
  Activations<float> acts_;
  Activations<Bf16> acts_bf16_;
  GradientsReadyHook gradients_ready_hook_;
};

}  // namespace kachi

#endif  // KACHI_RUNTIME_MODEL_GPT_MODEL_H_
