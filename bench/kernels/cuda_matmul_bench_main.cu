// bench_cuda_matmul: measures this GPU's ceilings itself (a plain 8192^3 bf16 GEMM through cuBLASLt; a 1 GiB
// device-to-device cudaMemcpy counted as bytes read + written), then prints BenchMatmulKernels' table.
// Usage: bench_cuda_matmul (no arguments); exits 1 with the error on failure.
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <vector>

#include "bench/kernels/kernel_bench.h"
#include "kernels/base/device_buffer.h"
#include "kernels/base/status_macros.h"
#include "kernels/matmul_cuda.h"
#include "kernels/matmul_status_cuda.h"

namespace kachi {
namespace {

using cuda::matmul_internal::CudaStatus;
using cuda::matmul_internal::LaunchStatus;

// Uniform random bf16 in [-1, 1) from a hash of the index (the GEMM must not run on zeros).
__global__ void FillRandomBf16(__nv_bfloat16* data, int64_t n, uint64_t seed) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x) {
    uint64_t z = (seed + i) * 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 31)) * 0xBF58476D1CE4E5B9ull;
    z ^= z >> 29;
    data[i] = __float2bfloat16(static_cast<float>(z >> 40) * (2.0f / 16777216.0f) - 1.0f);
  }
}

// Median of `repeats` event-timed runs of `run` after 3 warm-ups, in milliseconds.
template <typename Run>
absl::StatusOr<double> MedianMs(Run run, int repeats) {
  cudaEvent_t start = nullptr, stop = nullptr;
  KACHI_RETURN_IF_ERROR(CudaStatus(cudaEventCreate(&start), "cudaEventCreate"));
  KACHI_RETURN_IF_ERROR(CudaStatus(cudaEventCreate(&stop), "cudaEventCreate"));
  std::vector<double> times;
  for (int i = 0; i < 3 + repeats; ++i) {
    KACHI_RETURN_IF_ERROR(CudaStatus(cudaEventRecord(start, nullptr), "cudaEventRecord"));
    KACHI_RETURN_IF_ERROR(run());
    KACHI_RETURN_IF_ERROR(CudaStatus(cudaEventRecord(stop, nullptr), "cudaEventRecord"));
    KACHI_RETURN_IF_ERROR(CudaStatus(cudaEventSynchronize(stop), "cudaEventSynchronize"));
    float ms = 0;
    KACHI_RETURN_IF_ERROR(CudaStatus(cudaEventElapsedTime(&ms, start, stop), "cudaEventElapsedTime"));
    if (i >= 3) times.push_back(ms);
  }
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

absl::StatusOr<double> MeasureBf16GemmTflops() {
  constexpr int64_t kSize = 8192;
  const size_t bytes = kSize * kSize * sizeof(__nv_bfloat16);
  base::DeviceBuffer matrices[3];
  for (base::DeviceBuffer& matrix : matrices) KACHI_RETURN_IF_ERROR(matrix.Reallocate(bytes));
  __nv_bfloat16* a = matrices[0].as<__nv_bfloat16>();
  __nv_bfloat16* b = matrices[1].as<__nv_bfloat16>();
  __nv_bfloat16* d = matrices[2].as<__nv_bfloat16>();
  FillRandomBf16<<<1024, 256>>>(a, kSize * kSize, 1);
  FillRandomBf16<<<1024, 256>>>(b, kSize * kSize, 2);
  KACHI_RETURN_IF_ERROR(LaunchStatus("FillRandomBf16"));
  absl::StatusOr<double> ms = MedianMs(
      [&]() { return cuda::MatmulForward<__nv_bfloat16>(d, a, b, nullptr, kSize, kSize, kSize, nullptr); }, 20);
  KACHI_RETURN_IF_ERROR(ms);
  return 2.0 * kSize * kSize * kSize / (*ms * 1e9);
}

absl::StatusOr<double> MeasureCopyGbps() {
  constexpr size_t kBytes = size_t{1} << 30;
  base::DeviceBuffer source_buffer, destination_buffer;
  KACHI_RETURN_IF_ERROR(source_buffer.Reallocate(kBytes));
  KACHI_RETURN_IF_ERROR(destination_buffer.Reallocate(kBytes));
  void* source = source_buffer.data();
  void* destination = destination_buffer.data();
  FillRandomBf16<<<1024, 256>>>(static_cast<__nv_bfloat16*>(source), kBytes / 2, 3);
  KACHI_RETURN_IF_ERROR(LaunchStatus("FillRandomBf16"));
  absl::StatusOr<double> ms = MedianMs(
      [&]() {
        return CudaStatus(cudaMemcpyAsync(destination, source, kBytes, cudaMemcpyDeviceToDevice, nullptr),
                          "cudaMemcpyAsync");
      },
      20);
  KACHI_RETURN_IF_ERROR(ms);
  return 2.0 * kBytes / (*ms * 1e6);
}

int Main() {
  cudaDeviceProp properties{};
  if (cudaGetDeviceProperties(&properties, 0) != cudaSuccess) {
    std::cerr << "bench_cuda_matmul: no CUDA device\n";
    return 1;
  }
  KernelBenchCeilings ceilings;
  absl::StatusOr<double> tflops = MeasureBf16GemmTflops();
  absl::StatusOr<double> gbps = MeasureCopyGbps();
  if (!tflops.ok() || !gbps.ok()) {
    std::cerr << "bench_cuda_matmul: ceilings failed: " << (tflops.ok() ? gbps.status() : tflops.status()) << "\n";
    return 1;
  }
  ceilings.bf16_matmul_tflops = *tflops;
  ceilings.copy_gbps = *gbps;
  std::printf("# device: %s, %d SMs; ceilings: bf16 GEMM 8192^3 %.1f TFLOP/s, D2D copy 1 GiB %.1f GB/s\n",
              properties.name, properties.multiProcessorCount, ceilings.bf16_matmul_tflops, ceilings.copy_gbps);
  std::fflush(stdout);
  const absl::Status status = BenchMatmulKernels(ceilings, std::cout);
  if (!status.ok()) {
    std::cerr << "bench_cuda_matmul: " << status << "\n";
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace kachi

int main() { return kachi::Main(); }
