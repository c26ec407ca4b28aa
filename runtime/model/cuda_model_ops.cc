// The CUDA ModelOps (see cuda_model_ops.h): every op forwards to its kachi::cuda twin on the ops' stream.
#include "runtime/model/cuda_model_ops.h"

#ifdef KACHI_WITH_CUDA

#include <cuda_runtime.h>

#include <cstring>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "comm/cuda_event_pool.h"
#include "kernels/base/status_macros.h"
#include "kernels/adamw_cuda.h"
#include "kernels/attention_cuda.h"
#include "kernels/cross_entropy_cuda.h"
#include "kernels/elementwise_cuda.h"
#include "kernels/gelu_cuda.h"
#include "kernels/layernorm_cuda.h"
#include "kernels/matmul_cuda.h"
#include "kernels/position_embedding_cuda.h"
#include "kernels/residual_layernorm_cuda.h"
#include "kernels/sum_of_squares_cuda.h"
#include "kernels/token_embedding_cuda.h"

namespace kachi {
namespace {

absl::Status Check(cudaError_t error, const char* what) {
  if (error == cudaSuccess) return absl::OkStatus();
  return absl::InternalError(absl::StrCat(what, ": ", cudaGetErrorString(error)));
}

// Bf16 is layout-compatible with CUDA's bf16.
static_assert(sizeof(Bf16) == sizeof(__nv_bfloat16), "Bf16 and __nv_bfloat16 differ in size");
__nv_bfloat16* B(Bf16* p) { return reinterpret_cast<__nv_bfloat16*>(p); }
const __nv_bfloat16* B(const Bf16* p) { return reinterpret_cast<const __nv_bfloat16*>(p); }

class CudaOps : public ModelOps {
 public:
  CudaOps(int device, cudaStream_t stream) : device_(device), stream_(stream), events_(device) {}
  ~CudaOps() override {
    cudaStreamSynchronize(stream_);
    cudaFree(norm_result_);
    cuda::MatmulContext::Forget(device_, stream_);  // else the registry keeps its workspace after the stream dies
    cudaStreamDestroy(stream_);
    if (download_stream_ != nullptr) cudaStreamDestroy(download_stream_);
  }

  absl::string_view name() const override { return "cuda"; }
  bool device_memory() const override { return true; }

  float* AllocateFloats(int64_t count) override { return static_cast<float*>(Allocate(count * sizeof(float))); }
  int32_t* AllocateInts(int64_t count) override { return static_cast<int32_t*>(Allocate(count * sizeof(int32_t))); }
  void Release(void* data) override {
    if (data == nullptr) return;
    cudaStreamSynchronize(stream_);
    cudaFree(data);
  }
  absl::Status Upload(void* dst, const void* src, size_t bytes) override {
    KACHI_RETURN_IF_ERROR(Check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, stream_), "upload"));
    return Synchronize();  // the host buffer may be reused as soon as we return
  }
  absl::Status Download(void* dst, const void* src, size_t bytes) override {
    KACHI_RETURN_IF_ERROR(Check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, stream_), "download"));
    return Synchronize();
  }
  absl::Status Fill(float* data, float value, int64_t count) override {
    return cuda::Fill(data, value, count, stream_);
  }
  absl::Status Scale(float* data, float scale, int64_t count) override {
    return cuda::Scale(data, scale, count, stream_);
  }
  absl::Status Synchronize() override { return Check(cudaStreamSynchronize(stream_), "cudaStreamSynchronize"); }
  absl::StatusOr<void*> RecordEvent() override {
    absl::StatusOr<cudaEvent_t> event = events_.Acquire();
    if (!event.ok()) return event.status();
    if (auto st = Check(cudaEventRecord(*event, stream_), "cudaEventRecord"); !st.ok()) {
      events_.Release(*event);
      return st;
    }
    return static_cast<void*>(*event);
  }
  void ReleaseEvent(void* event) override {
    if (event != nullptr) events_.Release(static_cast<cudaEvent_t>(event));
  }

  void* AllocateBytes(size_t bytes) override { return Allocate(bytes); }
  absl::Status CopyAsync(void* dst, const void* src, size_t bytes) override {
    if (bytes == 0) return absl::OkStatus();
    return Check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, stream_), "device copy");
  }
  void* AllocateHost(size_t bytes) override {
    void* data = nullptr;
    if (bytes == 0) return nullptr;
    if (cudaMallocHost(&data, bytes) != cudaSuccess) {
      cudaGetLastError();  // as in Allocate: the next kernel launch check must not report this failure
      return nullptr;
    }
    std::memset(data, 0, bytes);
    return data;
  }
  void ReleaseHost(void* data) override {
    if (data != nullptr) cudaFreeHost(data);
  }
  absl::Status DownloadConcurrent(void* dst, const void* src, size_t bytes) override {
    if (bytes == 0) return absl::OkStatus();
    KACHI_RETURN_IF_ERROR(Check(cudaSetDevice(device_), "cudaSetDevice"));  // the current device is per thread
    std::lock_guard<std::mutex> lock(download_mutex_);  // one concurrent download at a time
    if (download_stream_ == nullptr) {
      KACHI_RETURN_IF_ERROR(
          Check(cudaStreamCreateWithFlags(&download_stream_, cudaStreamNonBlocking), "cudaStreamCreate"));
    }
    cudaStream_t stream = download_stream_;
    KACHI_RETURN_IF_ERROR(Check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, stream), "download"));
    return Check(cudaStreamSynchronize(stream), "cudaStreamSynchronize (download)");
  }

  absl::Status TokenEmbeddingForward(float* out, const int32_t* tokens, const float* table, int64_t count,
                                     int64_t channels, int64_t vocab_start, int64_t vocab_rows) override {
    return cuda::TokenEmbeddingForward(out, tokens, table, count, channels, vocab_start, vocab_rows, stream_);
  }
  absl::Status TokenEmbeddingBackward(float* dtable, const float* dout, const int32_t* tokens, int64_t count,
                                      int64_t channels, int64_t vocab_start, int64_t vocab_rows) override {
    return cuda::TokenEmbeddingBackward(dtable, dout, tokens, count, channels, vocab_start, vocab_rows, stream_);
  }
  absl::Status PositionEmbeddingForward(float* out, const float* wpe, int64_t batch, int64_t seq_len,
                                        int64_t channels) override {
    return cuda::PositionEmbeddingForward(out, wpe, batch, seq_len, channels, stream_);
  }
  absl::Status PositionEmbeddingBackward(float* dwpe, const float* dout, int64_t batch, int64_t seq_len,
                                         int64_t channels) override {
    return cuda::PositionEmbeddingBackward(dwpe, dout, batch, seq_len, channels, stream_);
  }
  absl::Status LayerNormForward(float* out, float* mean, float* rstd, const float* in, const float* weight,
                                const float* bias, int64_t rows, int64_t channels) override {
    return cuda::LayerNormForward(out, mean, rstd, in, weight, bias, rows, channels, stream_);
  }
  absl::Status LayerNormBackward(float* din, float* dweight, float* dbias, const float* dout, const float* in,
                                 const float* weight, const float* mean, const float* rstd, int64_t rows,
                                 int64_t channels) override {
    return cuda::LayerNormBackward(din, dweight, dbias, dout, in, weight, mean, rstd, rows, channels, stream_);
  }
  absl::Status MatmulForward(float* out, const float* in, const float* weight, const float* bias, int64_t rows,
                             int64_t in_channels, int64_t out_channels) override {
    return cuda::MatmulForward(out, in, weight, bias, rows, in_channels, out_channels, stream_);
  }
  absl::Status MatmulBackward(float* din, float* dweight, float* dbias, const float* dout, const float* in,
                              const float* weight, int64_t rows, int64_t in_channels,
                              int64_t out_channels) override {
    return cuda::MatmulBackward(din, dweight, dbias, dout, in, weight, rows, in_channels, out_channels, stream_);
  }
  absl::Status GeluForward(float* out, const float* in, int64_t count) override {
    return cuda::GeluForward(out, in, count, stream_);
  }
  absl::Status GeluBackward(float* din, const float* in, const float* dout, int64_t count) override {
    return cuda::GeluBackward(din, in, dout, count, stream_);
  }
  absl::Status ResidualForward(float* out, const float* a, const float* b, int64_t count) override {
    return cuda::ResidualForward(out, a, b, count, stream_);
  }
  absl::Status MatmulGeluForward(float* out, float* pre_gelu, const float* in, const float* weight,
                                 const float* bias, int64_t rows, int64_t in_channels, int64_t out_channels) override {
    return cuda::MatmulGeluForward(out, pre_gelu, in, weight, bias, rows, in_channels, out_channels, stream_);
  }
  absl::Status MatmulBackwardThroughGelu(float* dpre_gelu, float* dpre_bias, float* dweight, float* dbias,
                                         const float* dout, const float* in, const float* weight,
                                         const float* pre_gelu, int64_t rows, int64_t in_channels,
                                         int64_t out_channels) override {
    return cuda::MatmulBackwardThroughGelu(dpre_gelu, dpre_bias, dweight, dbias, dout, in, weight, pre_gelu, rows,
                                           in_channels, out_channels, stream_);
  }
  absl::Status ResidualLayerNormForward(float* residual_out, float* out, float* mean, float* rstd, const float* a,
                                        const float* b, const float* weight, const float* bias, int64_t rows,
                                        int64_t channels) override {
    return cuda::ResidualLayerNormForward(residual_out, out, mean, rstd, a, b, weight, bias, rows, channels,
                                          stream_);
  }

  int64_t AttentionStatsSize(int64_t batch, int64_t heads, int64_t seq_len) const override {
    return batch * heads * seq_len;  // logsumexp per row
  }
  int64_t AttentionScratchSize(int64_t batch, int64_t heads, int64_t seq_len) const override {
    return cuda::AttentionBackwardScratchFloats(batch, seq_len, heads);
  }
  absl::Status AttentionForward(float* out, float* stats, const float* qkv, int64_t batch, int64_t seq_len,
                                int64_t heads, int64_t head_size) override {
    return cuda::AttentionForward(out, stats, qkv, batch, seq_len, heads, head_size, stream_);
  }
  absl::Status AttentionBackward(float* dqkv, const float* dout, const float* qkv, const float* out,
                                 const float* stats, float* scratch, int64_t batch, int64_t seq_len, int64_t heads,
                                 int64_t head_size) override {
    return cuda::AttentionBackward(dqkv, dout, qkv, out, stats, scratch, batch, seq_len, heads, head_size, stream_);
  }

  absl::Status CrossEntropyRowMax(float* row_max, const float* logits, int64_t rows, int64_t cols,
                                  int64_t valid_cols) override {
    return cuda::CrossEntropyRowMax(row_max, logits, rows, cols, valid_cols, stream_);
  }
  absl::Status CrossEntropyRowSumExp(float* row_sum, const float* logits, const float* row_max, int64_t rows,
                                     int64_t cols, int64_t valid_cols) override {
    return cuda::CrossEntropyRowSumExp(row_sum, logits, row_max, rows, cols, valid_cols, stream_);
  }
  absl::Status CrossEntropyTargetLogit(float* target_logit, const float* logits, const int32_t* targets,
                                       int64_t rows, int64_t cols, int64_t valid_cols,
                                       int64_t vocab_start) override {
    return cuda::CrossEntropyTargetLogit(target_logit, logits, targets, rows, cols, valid_cols, vocab_start,
                                         stream_);
  }
  absl::Status CrossEntropyLoss(float* loss, const float* row_max, const float* row_sum, const float* target_logit,
                                int64_t rows) override {
    return cuda::CrossEntropyLoss(loss, row_max, row_sum, target_logit, rows, stream_);
  }
  absl::Status CrossEntropyBackward(float* dlogits, const float* logits, const float* row_max, const float* row_sum,
                                    const int32_t* targets, const float* dloss, int64_t rows, int64_t cols,
                                    int64_t valid_cols, int64_t vocab_start) override {
    return cuda::CrossEntropyBackward(dlogits, logits, row_max, row_sum, targets, dloss, rows, cols, valid_cols,
                                      vocab_start, stream_);
  }

  absl::Status AdamWStep(float* param, const float* grad, float* m, float* v, int64_t count, double learning_rate,
                         double beta1, double beta2, double eps, double weight_decay, int64_t step) override {
    // fp32 mode: the parameters are the master weights; no separate working copy.
    return cuda::AdamWStep<float>(param, nullptr, grad, m, v, count,
                                  Hyper(learning_rate, beta1, beta2, eps, weight_decay), step, 1.0f, stream_);
  }
  absl::StatusOr<double> SumOfSquares(const float* data, int64_t count) override {
    return SquaredSum(data, count);
  }

  // ---- bf16 (mixed precision): the same kernels instantiated for __nv_bfloat16. ----
  absl::Status Fill(Bf16* data, float value, int64_t count) override {
    return cuda::Fill(B(data), value, count, stream_);
  }
  absl::Status Scale(Bf16* data, float scale, int64_t count) override {
    return cuda::Scale(B(data), scale, count, stream_);
  }
  absl::Status Convert(Bf16* dst, const float* src, int64_t count) override {
    return cuda::ConvertToBf16(B(dst), src, count, stream_);
  }
  absl::Status Convert(float* dst, const Bf16* src, int64_t count) override {
    return cuda::ConvertToFloat(dst, B(src), count, stream_);
  }
  absl::Status TokenEmbeddingForward(Bf16* out, const int32_t* tokens, const Bf16* table, int64_t count,
                                     int64_t channels, int64_t vocab_start, int64_t vocab_rows) override {
    return cuda::TokenEmbeddingForward(B(out), tokens, B(table), count, channels, vocab_start, vocab_rows, stream_);
  }
  absl::Status TokenEmbeddingBackward(Bf16* dtable, const Bf16* dout, const int32_t* tokens, int64_t count,
                                      int64_t channels, int64_t vocab_start, int64_t vocab_rows) override {
    return cuda::TokenEmbeddingBackward(B(dtable), B(dout), tokens, count, channels, vocab_start, vocab_rows,
                                        stream_);
  }
  absl::Status PositionEmbeddingForward(Bf16* out, const Bf16* wpe, int64_t batch, int64_t seq_len,
                                        int64_t channels) override {
    return cuda::PositionEmbeddingForward(B(out), B(wpe), batch, seq_len, channels, stream_);
  }
  absl::Status PositionEmbeddingBackward(Bf16* dwpe, const Bf16* dout, int64_t batch, int64_t seq_len,
                                         int64_t channels) override {
    return cuda::PositionEmbeddingBackward(B(dwpe), B(dout), batch, seq_len, channels, stream_);
  }
  absl::Status LayerNormForward(Bf16* out, float* mean, float* rstd, const Bf16* in, const Bf16* weight,
                                const Bf16* bias, int64_t rows, int64_t channels) override {
    return cuda::LayerNormForward(B(out), mean, rstd, B(in), B(weight), B(bias), rows, channels, stream_);
  }
  absl::Status LayerNormBackward(Bf16* din, Bf16* dweight, Bf16* dbias, const Bf16* dout, const Bf16* in,
                                 const Bf16* weight, const float* mean, const float* rstd, int64_t rows,
                                 int64_t channels) override {
    return cuda::LayerNormBackward(B(din), B(dweight), B(dbias), B(dout), B(in), B(weight), mean, rstd, rows,
                                   channels, stream_);
  }
  absl::Status MatmulForward(Bf16* out, const Bf16* in, const Bf16* weight, const Bf16* bias, int64_t rows,
                             int64_t in_channels, int64_t out_channels) override {
    return cuda::MatmulForward(B(out), B(in), B(weight), B(bias), rows, in_channels, out_channels, stream_);
  }
  absl::Status MatmulBackward(Bf16* din, Bf16* dweight, Bf16* dbias, const Bf16* dout, const Bf16* in,
                              const Bf16* weight, int64_t rows, int64_t in_channels,
                              int64_t out_channels) override {
    return cuda::MatmulBackward(B(din), B(dweight), B(dbias), B(dout), B(in), B(weight), rows, in_channels,
                                out_channels, stream_);
  }
  absl::Status GeluForward(Bf16* out, const Bf16* in, int64_t count) override {
    return cuda::GeluForward(B(out), B(in), count, stream_);
  }
  absl::Status GeluBackward(Bf16* din, const Bf16* in, const Bf16* dout, int64_t count) override {
    return cuda::GeluBackward(B(din), B(in), B(dout), count, stream_);
  }
  absl::Status ResidualForward(Bf16* out, const Bf16* a, const Bf16* b, int64_t count) override {
    return cuda::ResidualForward(B(out), B(a), B(b), count, stream_);
  }
  absl::Status MatmulGeluForward(Bf16* out, Bf16* pre_gelu, const Bf16* in, const Bf16* weight, const Bf16* bias,
                                 int64_t rows, int64_t in_channels, int64_t out_channels) override {
    return cuda::MatmulGeluForward(B(out), B(pre_gelu), B(in), B(weight), B(bias), rows, in_channels, out_channels,
                                   stream_);
  }
  absl::Status MatmulBackwardThroughGelu(Bf16* dpre_gelu, Bf16* dpre_bias, Bf16* dweight, Bf16* dbias,
                                         const Bf16* dout, const Bf16* in, const Bf16* weight, const Bf16* pre_gelu,
                                         int64_t rows, int64_t in_channels, int64_t out_channels) override {
    return cuda::MatmulBackwardThroughGelu(B(dpre_gelu), B(dpre_bias), B(dweight), B(dbias), B(dout), B(in),
                                           B(weight), B(pre_gelu), rows, in_channels, out_channels, stream_);
  }
  absl::Status ResidualLayerNormForward(Bf16* residual_out, Bf16* out, float* mean, float* rstd, const Bf16* a,
                                        const Bf16* b, const Bf16* weight, const Bf16* bias, int64_t rows,
                                        int64_t channels) override {
    return cuda::ResidualLayerNormForward(B(residual_out), B(out), mean, rstd, B(a), B(b), B(weight), B(bias), rows,
                                          channels, stream_);
  }
  absl::Status AttentionForward(Bf16* out, float* stats, const Bf16* qkv, int64_t batch, int64_t seq_len,
                                int64_t heads, int64_t head_size) override {
    return cuda::AttentionForward(B(out), stats, B(qkv), batch, seq_len, heads, head_size, stream_);
  }
  absl::Status AttentionBackward(Bf16* dqkv, const Bf16* dout, const Bf16* qkv, const Bf16* out,
                                 const float* stats, float* scratch, int64_t batch, int64_t seq_len, int64_t heads,
                                 int64_t head_size) override {
    return cuda::AttentionBackward(B(dqkv), B(dout), B(qkv), B(out), stats, scratch, batch, seq_len, heads,
                                   head_size, stream_);
  }
  absl::Status CrossEntropyRowMax(float* row_max, const Bf16* logits, int64_t rows, int64_t cols,
                                  int64_t valid_cols) override {
    return cuda::CrossEntropyRowMax(row_max, B(logits), rows, cols, valid_cols, stream_);
  }
  absl::Status CrossEntropyRowSumExp(float* row_sum, const Bf16* logits, const float* row_max, int64_t rows,
                                     int64_t cols, int64_t valid_cols) override {
    return cuda::CrossEntropyRowSumExp(row_sum, B(logits), row_max, rows, cols, valid_cols, stream_);
  }
  absl::Status CrossEntropyTargetLogit(float* target_logit, const Bf16* logits, const int32_t* targets,
                                       int64_t rows, int64_t cols, int64_t valid_cols,
                                       int64_t vocab_start) override {
    return cuda::CrossEntropyTargetLogit(target_logit, B(logits), targets, rows, cols, valid_cols, vocab_start,
                                         stream_);
  }
  absl::Status CrossEntropyBackward(Bf16* dlogits, const Bf16* logits, const float* row_max, const float* row_sum,
                                    const int32_t* targets, const float* dloss, int64_t rows, int64_t cols,
                                    int64_t valid_cols, int64_t vocab_start) override {
    return cuda::CrossEntropyBackward(B(dlogits), B(logits), row_max, row_sum, targets, dloss, rows, cols,
                                      valid_cols, vocab_start, stream_);
  }
  absl::Status AdamWStep(float* master, Bf16* param, const Bf16* grad, float* m, float* v, int64_t count,
                         double learning_rate, double beta1, double beta2, double eps, double weight_decay,
                         int64_t step, float grad_scale) override {
    return cuda::AdamWStep<__nv_bfloat16>(master, B(param), B(grad), m, v, count,
                                          Hyper(learning_rate, beta1, beta2, eps, weight_decay), step, grad_scale,
                                          stream_);
  }
  absl::StatusOr<double> SumOfSquares(const Bf16* data, int64_t count) override { return SquaredSum(B(data), count); }

 private:
  static cpu::AdamWHyperparameters Hyper(double learning_rate, double beta1, double beta2, double eps,
                                         double weight_decay) {
    cpu::AdamWHyperparameters hyper;
    hyper.learning_rate = learning_rate;
    hyper.beta1 = beta1;
    hyper.beta2 = beta2;
    hyper.eps = eps;
    hyper.weight_decay = weight_decay;
    return hyper;
  }
  // cuda::SumOfSquares into a device double, downloaded.
  template <typename T>
  absl::StatusOr<double> SquaredSum(const T* data, int64_t count) {
    if (norm_result_ == nullptr) KACHI_RETURN_IF_ERROR(Check(cudaMalloc(&norm_result_, sizeof(double)), "cudaMalloc"));
    KACHI_RETURN_IF_ERROR(cuda::SumOfSquares(norm_result_, data, count, stream_));
    double result = 0;
    KACHI_RETURN_IF_ERROR(Download(&result, norm_result_, sizeof(double)));
    return result;
  }

  void* Allocate(size_t bytes) {
    void* data = nullptr;
    if (bytes == 0) return nullptr;
    if (cudaMalloc(&data, bytes) != cudaSuccess) {
      cudaGetLastError();  // clear the error so the next kernel launch check does not report it
      return nullptr;
    }
    cudaMemsetAsync(data, 0, bytes, stream_);
    cudaStreamSynchronize(stream_);
    return data;
  }

  int device_;
  cudaStream_t stream_;
  double* norm_result_ = nullptr;
  std::mutex download_mutex_;
  cudaStream_t download_stream_ = nullptr;  // DownloadConcurrent's stream, created on first use
  CudaEventPool events_;  // RecordEvent's markers
};

}  // namespace

absl::StatusOr<std::unique_ptr<ModelOps>> MakeCudaModelOps(int device) {
  KACHI_RETURN_IF_ERROR(Check(cudaSetDevice(device), "cudaSetDevice"));
  cudaStream_t stream = nullptr;
  KACHI_RETURN_IF_ERROR(Check(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), "cudaStreamCreate"));
  return std::unique_ptr<ModelOps>(new CudaOps(device, stream));
}

}  // namespace kachi

#else  // !KACHI_WITH_CUDA

namespace kachi {

absl::StatusOr<std::unique_ptr<ModelOps>> MakeCudaModelOps(int device) {
  return absl::UnavailableError("this kachi build has no CUDA: the CUDA kernels are not available");
}

}  // namespace kachi

#endif  // KACHI_WITH_CUDA
