// The CUDA ModelOps (see cuda_model_ops.h): every op forwards to its kachi::cuda twin on the ops' stream.
#include "runtime/model/cuda_model_ops.h"

#ifdef KACHI_WITH_CUDA

#include <cuda_runtime.h>

#include <cstring>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "comm/cuda_event_pool.h"
#include "kernels/base/cuda_status.h"
#include "kernels/base/device_buffer.h"
#include "kernels/base/status_macros.h"
#include "kernels/cuda_kernels.h"

namespace kachi {
namespace {
// Bf16 is layout-compatible with CUDA's bf16.
static_assert(sizeof(Bf16) == sizeof(__nv_bfloat16), "Bf16 and __nv_bfloat16 differ in size");
__nv_bfloat16* B(Bf16* p) { return reinterpret_cast<__nv_bfloat16*>(p); }
const __nv_bfloat16* B(const Bf16* p) { return reinterpret_cast<const __nv_bfloat16*>(p); }
template <typename T>
T B(T value) {  // every other argument as it is
  return value;
}
// Calls `call` with the arguments, Bf16 pointers as CUDA's bf16.
template <typename Call, typename... Args>
auto Forward(Call&& call, Args... args) {
  return call(B(args)...);
}

// The CUDA twin of every kernel op: kernels/ cuda::<op> with the stream last, plus the ops whose twin is spelled
// differently or needs more than a stream (a qualified name found here hides cuda::'s).
namespace twin {
using namespace ::kachi::cuda;  // NOLINT: the kernels of kernels/*_cuda.h

// The ops' stream (what cuda::<op> takes last) and SumOfSquares' lazily allocated device result.
struct Context {
  cudaStream_t stream;
  base::DeviceBuffer* norm_result;
  operator cudaStream_t() const { return stream; }  // NOLINT: passed as the kernels' stream
};

absl::Status Convert(__nv_bfloat16* dst, const float* src, int64_t count, const Context& c) {
  return cuda::ConvertToBf16(dst, src, count, c.stream);
}
absl::Status Convert(float* dst, const __nv_bfloat16* src, int64_t count, const Context& c) {
  return cuda::ConvertToFloat(dst, src, count, c.stream);
}

cpu::AdamWHyperparameters Hyper(double learning_rate, double beta1, double beta2, double eps, double weight_decay) {
  cpu::AdamWHyperparameters hyper;
  hyper.learning_rate = learning_rate;
  hyper.beta1 = beta1;
  hyper.beta2 = beta2;
  hyper.eps = eps;
  hyper.weight_decay = weight_decay;
  return hyper;
}
// fp32 mode: the parameters are the master weights; no separate working copy.
absl::Status AdamWStep(float* param, const float* grad, float* m, float* v, int64_t count, double learning_rate,
                       double beta1, double beta2, double eps, double weight_decay, int64_t step, const Context& c) {
  return cuda::AdamWStep<float>(param, nullptr, grad, m, v, count,
                                Hyper(learning_rate, beta1, beta2, eps, weight_decay), step, 1.0f, c.stream);
}
absl::Status AdamWStep(float* master, __nv_bfloat16* param, const __nv_bfloat16* grad, float* m, float* v,
                       int64_t count, double learning_rate, double beta1, double beta2, double eps, double weight_decay,
                       int64_t step, float grad_scale, const Context& c) {
  return cuda::AdamWStep<__nv_bfloat16>(master, param, grad, m, v, count,
                                        Hyper(learning_rate, beta1, beta2, eps, weight_decay), step, grad_scale,
                                        c.stream);
}

// cuda::SumOfSquares into a device double, downloaded.
template <typename T>
absl::StatusOr<double> SumOfSquares(const T* data, int64_t count, const Context& c) {
  if (c.norm_result->empty()) KACHI_RETURN_IF_ERROR(c.norm_result->Reallocate(sizeof(double)));
  double* device_result = c.norm_result->as<double>();
  KACHI_RETURN_IF_ERROR(cuda::SumOfSquares(device_result, data, count, c.stream));
  double result = 0;
  KACHI_RETURN_IF_ERROR(base::CudaStatus(
      cudaMemcpyAsync(&result, device_result, sizeof(double), cudaMemcpyDeviceToHost, c.stream), "download"));
  KACHI_RETURN_IF_ERROR(base::CudaStatus(cudaStreamSynchronize(c.stream), "cudaStreamSynchronize"));
  return result;
}

}  // namespace twin

class CudaOps : public ModelOps {
 public:
  CudaOps(int device, cudaStream_t stream)
      : device_(device), stream_(stream), events_(device), context_{stream, &norm_result_} {}
  ~CudaOps() override {
    cudaStreamSynchronize(stream_);
    norm_result_.Reset();
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
    KACHI_RETURN_IF_ERROR(
        base::CudaStatus(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, stream_), "upload"));
    return Synchronize();  // the host buffer may be reused as soon as we return
  }
  absl::Status Download(void* dst, const void* src, size_t bytes) override {
    KACHI_RETURN_IF_ERROR(
        base::CudaStatus(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, stream_), "download"));
    return Synchronize();
  }
  absl::Status Synchronize() override {
    return base::CudaStatus(cudaStreamSynchronize(stream_), "cudaStreamSynchronize");
  }
  absl::StatusOr<void*> RecordEvent() override {
    absl::StatusOr<cudaEvent_t> event = events_.Acquire();
    if (!event.ok()) return event.status();
    if (auto st = base::CudaStatus(cudaEventRecord(*event, stream_), "cudaEventRecord"); !st.ok()) {
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
    return base::CudaStatus(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, stream_), "device copy");
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
    KACHI_RETURN_IF_ERROR(
        base::CudaStatus(cudaSetDevice(device_), "cudaSetDevice"));  // the current device is per thread
    std::lock_guard<std::mutex> lock(download_mutex_);               // one concurrent download at a time
    if (download_stream_ == nullptr) {
      KACHI_RETURN_IF_ERROR(
          base::CudaStatus(cudaStreamCreateWithFlags(&download_stream_, cudaStreamNonBlocking), "cudaStreamCreate"));
    }
    cudaStream_t stream = download_stream_;
    KACHI_RETURN_IF_ERROR(
        base::CudaStatus(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, stream), "download"));
    return base::CudaStatus(cudaStreamSynchronize(stream), "cudaStreamSynchronize (download)");
  }

  int64_t AttentionStatsSize(int64_t batch, int64_t heads, int64_t seq_len) const override {
    return batch * heads * seq_len;  // logsumexp per row
  }
  int64_t AttentionScratchSize(int64_t batch, int64_t heads, int64_t seq_len) const override {
    return cuda::AttentionBackwardScratchFloats(batch, seq_len, heads);
  }

  // Every kernel op in both precisions, generated from kernel_op_list.h: its CUDA twin (twin:: above) on the ops'
  // stream, Bf16 pointers passed as __nv_bfloat16.
#define KACHI_CUDA_OP(R, Name, Params, Args, Extents)                                               \
  R Name Params override {                                                                          \
    return Forward([&](auto... a) -> R { return twin::Name(a..., context_); }, KACHI_OP_ARGS Args); \
  }
  KACHI_KERNEL_OPS(KACHI_CUDA_OP, float)
  KACHI_FP32_KERNEL_OPS(KACHI_CUDA_OP)
  KACHI_COMPOSED_KERNEL_OPS(KACHI_CUDA_OP, float)
  KACHI_KERNEL_OPS(KACHI_CUDA_OP, Bf16)
  KACHI_BF16_KERNEL_OPS(KACHI_CUDA_OP)
  KACHI_COMPOSED_KERNEL_OPS(KACHI_CUDA_OP, Bf16)
#undef KACHI_CUDA_OP

 private:
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
  std::mutex download_mutex_;
  cudaStream_t download_stream_ = nullptr;  // DownloadConcurrent's stream, created on first use
  CudaEventPool events_;                    // RecordEvent's markers
  base::DeviceBuffer norm_result_;          // SumOfSquares' device result (a double), allocated on first use
  twin::Context context_;                   // what the twins need besides the arguments
};

}  // namespace

absl::StatusOr<std::unique_ptr<ModelOps>> MakeCudaModelOps(int device) {
  KACHI_RETURN_IF_ERROR(base::CudaStatus(cudaSetDevice(device), "cudaSetDevice"));
  cudaStream_t stream = nullptr;
  KACHI_RETURN_IF_ERROR(
      base::CudaStatus(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), "cudaStreamCreate"));
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
