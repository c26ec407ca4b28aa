// bench_cuda_attention: the attention family's benchmark on its own, before `kachi bench kernels` wires it. Measures
// the two ceilings it needs on this GPU (device-to-device copy bandwidth, cuBLAS bf16 GEMM rate on random data), then
// prints BenchAttentionKernels' table (kachi beside PyTorch SDPA).
#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "bench/kernels/kernel_bench.h"
#include "kernels/base/cuda_status.h"
#include "kernels/base/device_buffer.h"
#include "kernels/base/status_macros.h"

namespace kachi {
namespace {

constexpr int kCeilingRepeats = 10;
absl::Status CheckBlas(cublasStatus_t status, const char* what) {
  if (status == CUBLAS_STATUS_SUCCESS) return absl::OkStatus();
  return absl::InternalError(absl::StrCat(what, " failed: cublas status ", static_cast<int>(status)));
}

// Uniform values in [-1, 1) from a per-element hash (random data: zeros would flatter the GEMM).
__global__ void FillRandomBf16(__nv_bfloat16* data, int64_t count, uint64_t seed) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < count;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    uint64_t x = (static_cast<uint64_t>(i) + 1) * 0x9E3779B97F4A7C15ull ^ seed;
    x ^= x >> 31;
    x *= 0xBF58476D1CE4E5B9ull;
    x ^= x >> 29;
    data[i] = __float2bfloat16(static_cast<float>(x >> 40) * (2.0f / 16777216.0f) - 1.0f);
  }
}

// Median milliseconds of `body` (which enqueues work) over kCeilingRepeats event-timed runs after two warm-ups.
template <typename Body>
absl::StatusOr<double> MedianMs(Body body) {
  for (int i = 0; i < 2; ++i) {
    KACHI_RETURN_IF_ERROR(body());
  }
  cudaEvent_t start, stop;
  KACHI_RETURN_IF_ERROR(base::CudaStatus(cudaEventCreate(&start), "cudaEventCreate"));
  KACHI_RETURN_IF_ERROR(base::CudaStatus(cudaEventCreate(&stop), "cudaEventCreate"));
  // Times each run; the first error ends the measurement.
  auto timed_runs = [&]() -> absl::StatusOr<std::vector<double>> {
    std::vector<double> times;
    for (int i = 0; i < kCeilingRepeats; ++i) {
      KACHI_RETURN_IF_ERROR(base::CudaStatus(cudaEventRecord(start), "cudaEventRecord"));
      KACHI_RETURN_IF_ERROR(body());
      KACHI_RETURN_IF_ERROR(base::CudaStatus(cudaEventRecord(stop), "cudaEventRecord"));
      KACHI_RETURN_IF_ERROR(base::CudaStatus(cudaEventSynchronize(stop), "cudaEventSynchronize"));
      float ms = 0;
      KACHI_RETURN_IF_ERROR(base::CudaStatus(cudaEventElapsedTime(&ms, start, stop), "cudaEventElapsedTime"));
      times.push_back(ms);
    }
    return times;
  };
  absl::StatusOr<std::vector<double>> measured = timed_runs();
  (void)cudaEventDestroy(start);
  (void)cudaEventDestroy(stop);
  KACHI_RETURN_IF_ERROR(measured);
  std::vector<double> times = *std::move(measured);
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

// Copy GB/s (bytes read + written over a 1 GiB device-to-device copy) and bf16 GEMM TFLOP/s (8192^3 through
// cublasGemmEx, fp32 compute, random inputs).
absl::StatusOr<KernelBenchCeilings> MeasureCeilingsHere() {
  KernelBenchCeilings ceilings;
  const size_t copy_bytes = size_t{1} << 30;
  base::DeviceBuffer source_buffer, destination_buffer;
  KACHI_RETURN_IF_ERROR(source_buffer.Reallocate(copy_bytes));
  KACHI_RETURN_IF_ERROR(destination_buffer.Reallocate(copy_bytes));
  void* source = source_buffer.data();
  void* destination = destination_buffer.data();
  FillRandomBf16<<<1024, 256>>>(static_cast<__nv_bfloat16*>(source), copy_bytes / 2, 11);
  absl::StatusOr<double> copy_ms = MedianMs([&] {
    return base::CudaStatus(cudaMemcpyAsync(destination, source, copy_bytes, cudaMemcpyDeviceToDevice),
                            "cudaMemcpyAsync");
  });
  source_buffer.Reset();
  destination_buffer.Reset();
  KACHI_RETURN_IF_ERROR(copy_ms);
  ceilings.copy_gbps = 2.0 * copy_bytes / (*copy_ms * 1e-3) / 1e9;

  const int n = 8192;
  const size_t elements = size_t{n} * n;
  base::DeviceBuffer matrices[3];
  for (base::DeviceBuffer& matrix : matrices) KACHI_RETURN_IF_ERROR(matrix.Reallocate(elements * 2));
  __nv_bfloat16* a = matrices[0].as<__nv_bfloat16>();
  __nv_bfloat16* b = matrices[1].as<__nv_bfloat16>();
  __nv_bfloat16* c = matrices[2].as<__nv_bfloat16>();
  FillRandomBf16<<<1024, 256>>>(a, elements, 12);
  FillRandomBf16<<<1024, 256>>>(b, elements, 13);
  KACHI_RETURN_IF_ERROR(base::CudaStatus(cudaGetLastError(), "FillRandomBf16 launch"));
  cublasHandle_t handle;
  KACHI_RETURN_IF_ERROR(CheckBlas(cublasCreate(&handle), "cublasCreate"));
  const float alpha = 1.0f, beta = 0.0f;
  absl::StatusOr<double> gemm_ms = MedianMs([&] {
    return CheckBlas(cublasGemmEx(handle, CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, &alpha, a, CUDA_R_16BF, n, b, CUDA_R_16BF,
                                  n, &beta, c, CUDA_R_16BF, n, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
                     "cublasGemmEx");
  });
  (void)cublasDestroy(handle);
  KACHI_RETURN_IF_ERROR(gemm_ms);
  ceilings.bf16_matmul_tflops = 2.0 * n * double{n} * n / (*gemm_ms * 1e-3) / 1e12;
  return ceilings;
}

}  // namespace
}  // namespace kachi

int main() {
  cudaDeviceProp properties;
  if (cudaGetDeviceProperties(&properties, 0) != cudaSuccess) {
    std::cerr << "bench_cuda_attention: no CUDA device\n";
    return 1;
  }
  absl::StatusOr<kachi::KernelBenchCeilings> ceilings = kachi::MeasureCeilingsHere();
  if (!ceilings.ok()) {
    std::cerr << "bench_cuda_attention: " << ceilings.status() << "\n";
    return 1;
  }
  std::printf("# device %s (%d SMs); ceilings: copy %.0f GB/s, bf16 matmul %.1f TFLOP/s\n", properties.name,
              properties.multiProcessorCount, ceilings->copy_gbps, ceilings->bf16_matmul_tflops);
  if (absl::Status status = kachi::BenchAttentionKernels(*ceilings, std::cout); !status.ok()) {
    std::cerr << "bench_cuda_attention: " << status << "\n";
    return 1;
  }
  return 0;
}
