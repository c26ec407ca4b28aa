// ModelOps: the memory and kernels a GptModel and its optimizer run on — the CPU reference kernels (kernels/*.h)
// on host memory, or CUDA kernels on device memory. The model, tensor- and data-parallel code is written once
// against this interface. Pointers passed to an op live in this ModelOps' memory (Allocate*), tokens included.
// Every op has the signature and accumulation convention of its CPU twin (kernels/README.md), in fp32, and a bf16
// overload for mixed precision (bf16 activations, parameters and gradients; statistics such as LayerNorm mean/rstd,
// attention statistics and cross-entropy pieces stay fp32). The CUDA ops run the bf16 overloads natively; for host
// memory the base class emulates them (bf16_emulation.cc): inputs widened to fp32, the fp32 op, outputs rounded to
// bf16 — the CPU reference of the GPU's mixed precision.
#ifndef KACHI_RUNTIME_MODEL_MODEL_OPS_H_
#define KACHI_RUNTIME_MODEL_MODEL_OPS_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <type_traits>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "runtime/model/bf16.h"

namespace kachi {

class ModelOps {
 public:
  virtual ~ModelOps() = default;

  // "cpu" or "cuda".
  virtual absl::string_view name() const = 0;
  // True when Allocate* returns device memory (collectives then need a device-buffer backend such as NCCL).
  virtual bool device_memory() const = 0;

  // Zero-filled memory of `count` elements; Release frees what Allocate* returned (nullptr is ignored).
  virtual float* AllocateFloats(int64_t count) = 0;
  virtual int32_t* AllocateInts(int64_t count) = 0;
  Bf16* AllocateBf16(int64_t count) { return static_cast<Bf16*>(AllocateBytes(count * sizeof(Bf16))); }
  virtual void Release(void* data) = 0;
  // Host memory -> this ModelOps' memory and back (`bytes` bytes).
  virtual absl::Status Upload(void* dst, const void* host_src, size_t bytes) = 0;
  virtual absl::Status Download(void* host_dst, const void* src, size_t bytes) = 0;
  // data[i] = value; data[i] *= scale.
  virtual absl::Status Fill(float* data, float value, int64_t count) = 0;
  virtual absl::Status Scale(float* data, float scale, int64_t count) = 0;
  // Waits for all queued work.
  virtual absl::Status Synchronize() = 0;
  // A marker after all work queued so far on the compute stream, for Communicator::WaitEvent (so a collective can
  // follow device work without a host sync): a pooled cudaEvent_t as void* for the CUDA ops, nullptr for host
  // memory (every op is complete on return). Give it back with ReleaseEvent once nothing waits on it any more.
  virtual absl::StatusOr<void*> RecordEvent() = 0;
  // Returns an event from RecordEvent to the pool (nullptr is ignored).
  virtual void ReleaseEvent(void* event) = 0;

  // Checkpoint snapshots (copy the state aside on the training thread, download it on the writer's thread):
  // `bytes` bytes of this ops' memory, zero-filled, freed by Release.
  virtual void* AllocateBytes(size_t bytes) = 0;
  // dst = src (`bytes` bytes, both in this ops' memory), queued after all earlier work (the CPU ops: done at return).
  virtual absl::Status CopyAsync(void* dst, const void* src, size_t bytes) = 0;
  // Page-locked host memory (plain host memory for the CPU ops) for fast downloads, freed by ReleaseHost.
  virtual void* AllocateHost(size_t bytes) = 0;
  virtual void ReleaseHost(void* data) = 0;
  // Copies `bytes` bytes from this ops' memory to host memory on a private stream and waits for that copy only;
  // may be called from any thread while training goes on. The source must be complete (e.g. CopyAsync followed
  // by Synchronize on the training thread).
  virtual absl::Status DownloadConcurrent(void* host_dst, const void* src, size_t bytes) = 0;

  // Kernels: see the CPU twins in kernels/*.h for the exact math.
  virtual absl::Status TokenEmbeddingForward(float* out, const int32_t* tokens, const float* table, int64_t count,
                                             int64_t channels, int64_t vocab_start, int64_t vocab_rows) = 0;
  virtual absl::Status TokenEmbeddingBackward(float* dtable, const float* dout, const int32_t* tokens, int64_t count,
                                              int64_t channels, int64_t vocab_start, int64_t vocab_rows) = 0;
  virtual absl::Status PositionEmbeddingForward(float* out, const float* wpe, int64_t batch, int64_t seq_len,
                                                int64_t channels) = 0;
  virtual absl::Status PositionEmbeddingBackward(float* dwpe, const float* dout, int64_t batch, int64_t seq_len,
                                                 int64_t channels) = 0;
  virtual absl::Status LayerNormForward(float* out, float* mean, float* rstd, const float* in, const float* weight,
                                        const float* bias, int64_t rows, int64_t channels) = 0;
  virtual absl::Status LayerNormBackward(float* din, float* dweight, float* dbias, const float* dout, const float* in,
                                         const float* weight, const float* mean, const float* rstd, int64_t rows,
                                         int64_t channels) = 0;
  virtual absl::Status MatmulForward(float* out, const float* in, const float* weight, const float* bias,
                                     int64_t rows, int64_t in_channels, int64_t out_channels) = 0;
  virtual absl::Status MatmulBackward(float* din, float* dweight, float* dbias, const float* dout, const float* in,
                                      const float* weight, int64_t rows, int64_t in_channels,
                                      int64_t out_channels) = 0;
  virtual absl::Status GeluForward(float* out, const float* in, int64_t count) = 0;
  virtual absl::Status GeluBackward(float* din, const float* in, const float* dout, int64_t count) = 0;
  virtual absl::Status ResidualForward(float* out, const float* a, const float* b, int64_t count) = 0;

  // Fused ops, the model's path (one pass over memory where the unfused ops take two or three):
  // pre_gelu = in @ weight^T + bias and out = gelu(pre_gelu), both written (kernels/matmul_gelu.h).
  virtual absl::Status MatmulGeluForward(float* out, float* pre_gelu, const float* in, const float* weight,
                                         const float* bias, int64_t rows, int64_t in_channels,
                                         int64_t out_channels) = 0;
  // Backward of a matmul whose input is gelu(pre_gelu): dpre_gelu = gelu'(pre_gelu) * (dout @ weight) WRITTEN;
  // dpre_bias (may be null), dweight, dbias (may be null) accumulated (kernels/matmul_gelu.h).
  virtual absl::Status MatmulBackwardThroughGelu(float* dpre_gelu, float* dpre_bias, float* dweight, float* dbias,
                                                 const float* dout, const float* in, const float* weight,
                                                 const float* pre_gelu, int64_t rows, int64_t in_channels,
                                                 int64_t out_channels) = 0;
  // residual_out = a + b; out = LayerNorm(residual_out) * weight + bias; mean, rstd of the rows (all written). The
  // LayerNorm normalizes residual_out as stored. Default: ResidualForward, then LayerNormForward.
  virtual absl::Status ResidualLayerNormForward(float* residual_out, float* out, float* mean, float* rstd,
                                                const float* a, const float* b, const float* weight,
                                                const float* bias, int64_t rows, int64_t channels);

  // Attention keeps backend-specific statistics between forward and backward (the CPU keeps the probabilities,
  // [B, NH, T, T]; flash attention keeps a logsumexp per row) and may need scratch in backward.
  virtual int64_t AttentionStatsSize(int64_t batch, int64_t heads, int64_t seq_len) const = 0;
  virtual int64_t AttentionScratchSize(int64_t batch, int64_t heads, int64_t seq_len) const = 0;
  virtual absl::Status AttentionForward(float* out, float* stats, const float* qkv, int64_t batch, int64_t seq_len,
                                        int64_t heads, int64_t head_size) = 0;
  // Accumulates into dqkv; `out` is the forward's output.
  virtual absl::Status AttentionBackward(float* dqkv, const float* dout, const float* qkv, const float* out,
                                         const float* stats, float* scratch, int64_t batch, int64_t seq_len,
                                         int64_t heads, int64_t head_size) = 0;

  // Vocab-parallel cross-entropy pieces (kernels/cross_entropy.h).
  virtual absl::Status CrossEntropyRowMax(float* row_max, const float* logits, int64_t rows, int64_t cols,
                                          int64_t valid_cols) = 0;
  virtual absl::Status CrossEntropyRowSumExp(float* row_sum, const float* logits, const float* row_max, int64_t rows,
                                             int64_t cols, int64_t valid_cols) = 0;
  virtual absl::Status CrossEntropyTargetLogit(float* target_logit, const float* logits, const int32_t* targets,
                                               int64_t rows, int64_t cols, int64_t valid_cols,
                                               int64_t vocab_start) = 0;
  virtual absl::Status CrossEntropyLoss(float* loss, const float* row_max, const float* row_sum,
                                        const float* target_logit, int64_t rows) = 0;
  virtual absl::Status CrossEntropyBackward(float* dlogits, const float* logits, const float* row_max,
                                            const float* row_sum, const int32_t* targets, const float* dloss,
                                            int64_t rows, int64_t cols, int64_t valid_cols, int64_t vocab_start) = 0;

  // Optimizer pieces (kernels/adamw.h, kernels/sum_of_squares.h).
  virtual absl::Status AdamWStep(float* param, const float* grad, float* m, float* v, int64_t count,
                                 double learning_rate, double beta1, double beta2, double eps, double weight_decay,
                                 int64_t step) = 0;
  virtual absl::StatusOr<double> SumOfSquares(const float* data, int64_t count) = 0;

  // ---- Mixed precision (bf16). Same math and conventions as the fp32 ops above; see the file comment. ----
  virtual absl::Status Fill(Bf16* data, float value, int64_t count);
  virtual absl::Status Scale(Bf16* data, float scale, int64_t count);
  // dst[i] = round_to_bf16(src[i]) and dst[i] = float(src[i]).
  virtual absl::Status Convert(Bf16* dst, const float* src, int64_t count);
  virtual absl::Status Convert(float* dst, const Bf16* src, int64_t count);
  virtual absl::Status TokenEmbeddingForward(Bf16* out, const int32_t* tokens, const Bf16* table, int64_t count,
                                             int64_t channels, int64_t vocab_start, int64_t vocab_rows);
  virtual absl::Status TokenEmbeddingBackward(Bf16* dtable, const Bf16* dout, const int32_t* tokens, int64_t count,
                                              int64_t channels, int64_t vocab_start, int64_t vocab_rows);
  virtual absl::Status PositionEmbeddingForward(Bf16* out, const Bf16* wpe, int64_t batch, int64_t seq_len,
                                                int64_t channels);
  virtual absl::Status PositionEmbeddingBackward(Bf16* dwpe, const Bf16* dout, int64_t batch, int64_t seq_len,
                                                 int64_t channels);
  virtual absl::Status LayerNormForward(Bf16* out, float* mean, float* rstd, const Bf16* in, const Bf16* weight,
                                        const Bf16* bias, int64_t rows, int64_t channels);
  virtual absl::Status LayerNormBackward(Bf16* din, Bf16* dweight, Bf16* dbias, const Bf16* dout, const Bf16* in,
                                         const Bf16* weight, const float* mean, const float* rstd, int64_t rows,
                                         int64_t channels);
  virtual absl::Status MatmulForward(Bf16* out, const Bf16* in, const Bf16* weight, const Bf16* bias, int64_t rows,
                                     int64_t in_channels, int64_t out_channels);
  virtual absl::Status MatmulBackward(Bf16* din, Bf16* dweight, Bf16* dbias, const Bf16* dout, const Bf16* in,
                                      const Bf16* weight, int64_t rows, int64_t in_channels, int64_t out_channels);
  virtual absl::Status GeluForward(Bf16* out, const Bf16* in, int64_t count);
  virtual absl::Status GeluBackward(Bf16* din, const Bf16* in, const Bf16* dout, int64_t count);
  virtual absl::Status ResidualForward(Bf16* out, const Bf16* a, const Bf16* b, int64_t count);
  // The fused ops: the host emulation rounds once at the end, like a fused kernel's epilogue (pre_gelu and
  // gelu(pre_gelu) are both computed from the fp32 matmul result; dpre_gelu from fp32 dout @ weight).
  virtual absl::Status MatmulGeluForward(Bf16* out, Bf16* pre_gelu, const Bf16* in, const Bf16* weight,
                                         const Bf16* bias, int64_t rows, int64_t in_channels, int64_t out_channels);
  virtual absl::Status MatmulBackwardThroughGelu(Bf16* dpre_gelu, Bf16* dpre_bias, Bf16* dweight, Bf16* dbias,
                                                 const Bf16* dout, const Bf16* in, const Bf16* weight,
                                                 const Bf16* pre_gelu, int64_t rows, int64_t in_channels,
                                                 int64_t out_channels);
  // Default: the bf16 ResidualForward (rounds the sum), then the bf16 LayerNormForward of the rounded sum.
  virtual absl::Status ResidualLayerNormForward(Bf16* residual_out, Bf16* out, float* mean, float* rstd,
                                                const Bf16* a, const Bf16* b, const Bf16* weight, const Bf16* bias,
                                                int64_t rows, int64_t channels);
  virtual absl::Status AttentionForward(Bf16* out, float* stats, const Bf16* qkv, int64_t batch, int64_t seq_len,
                                        int64_t heads, int64_t head_size);
  virtual absl::Status AttentionBackward(Bf16* dqkv, const Bf16* dout, const Bf16* qkv, const Bf16* out,
                                         const float* stats, float* scratch, int64_t batch, int64_t seq_len,
                                         int64_t heads, int64_t head_size);
  virtual absl::Status CrossEntropyRowMax(float* row_max, const Bf16* logits, int64_t rows, int64_t cols,
                                          int64_t valid_cols);
  virtual absl::Status CrossEntropyRowSumExp(float* row_sum, const Bf16* logits, const float* row_max, int64_t rows,
                                             int64_t cols, int64_t valid_cols);
  virtual absl::Status CrossEntropyTargetLogit(float* target_logit, const Bf16* logits, const int32_t* targets,
                                               int64_t rows, int64_t cols, int64_t valid_cols, int64_t vocab_start);
  virtual absl::Status CrossEntropyBackward(Bf16* dlogits, const Bf16* logits, const float* row_max,
                                            const float* row_sum, const int32_t* targets, const float* dloss,
                                            int64_t rows, int64_t cols, int64_t valid_cols, int64_t vocab_start);
  // AdamW with fp32 master weights: grad (bf16) times grad_scale updates master, m, v (fp32); param = bf16(master).
  virtual absl::Status AdamWStep(float* master, Bf16* param, const Bf16* grad, float* m, float* v, int64_t count,
                                 double learning_rate, double beta1, double beta2, double eps, double weight_decay,
                                 int64_t step, float grad_scale);
  // Sum of squares of bf16 values, accumulated in double.
  virtual absl::StatusOr<double> SumOfSquares(const Bf16* data, int64_t count);
};

// The process-wide CPU ModelOps: the reference kernels on host memory.
ModelOps& CpuModelOps();

// An owned array in a ModelOps' memory.
template <typename T>
class OpsBuffer {
 public:
  OpsBuffer() = default;
  OpsBuffer(ModelOps* ops, int64_t count) { Reset(ops, count); }
  OpsBuffer(const OpsBuffer&) = delete;
  OpsBuffer& operator=(const OpsBuffer&) = delete;
  OpsBuffer(OpsBuffer&& other) noexcept { *this = std::move(other); }
  OpsBuffer& operator=(OpsBuffer&& other) noexcept {
    std::swap(ops_, other.ops_);
    std::swap(data_, other.data_);
    std::swap(size_, other.size_);
    return *this;
  }
  ~OpsBuffer() { Reset(nullptr, 0); }

  // Frees the old array and allocates `count` zeroed elements (none when ops is null or count is 0).
  void Reset(ModelOps* ops, int64_t count) {
    if (ops_ != nullptr) ops_->Release(data_);
    ops_ = ops;
    size_ = count;
    data_ = nullptr;
    if (ops != nullptr && count > 0) {
      if constexpr (std::is_same_v<T, int32_t>) {
        data_ = ops->AllocateInts(count);
      } else if constexpr (std::is_same_v<T, Bf16>) {
        data_ = ops->AllocateBf16(count);
      } else {
        data_ = ops->AllocateFloats(count);
      }
    }
  }
  T* data() { return data_; }
  const T* data() const { return data_; }
  // Element access: only for host memory (a ModelOps whose device_memory() is false).
  T& operator[](int64_t i) { return data_[i]; }
  const T& operator[](int64_t i) const { return data_[i]; }
  int64_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

 private:
  ModelOps* ops_ = nullptr;
  T* data_ = nullptr;
  int64_t size_ = 0;
};

}  // namespace kachi

#endif  // KACHI_RUNTIME_MODEL_MODEL_OPS_H_
