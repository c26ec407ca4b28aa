// Timing and input helpers for the CUDA kernel benchmarks of family cuda_memory (bench/kernels/*.cu only):
// seeded random device fills (never zeros), an L2 flush between repeats, and the median of event-timed repeats.
#ifndef KACHI_BENCH_KERNELS_CUDA_MEMORY_BENCH_UTIL_CUH_
#define KACHI_BENCH_KERNELS_CUDA_MEMORY_BENCH_UTIL_CUH_

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "kernels/base/device_buffer.h"
#include "kernels/base/status_macros.h"
#include "kernels/cuda_memory_util.cuh"

namespace kachi::bench_internal {

// Uniform values in [lo, hi) from a counter hash of (seed, index); exact zeros become (lo + hi) / 2 or hi / 2.
template <typename T>
__global__ void RandomFillKernel(T* data, int64_t n, uint64_t seed, float lo, float hi) {
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    uint64_t z = seed * 0x9E3779B97F4A7C15ull + static_cast<uint64_t>(i) + 1;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    const float unit = static_cast<float>(z >> 40) * (1.0f / 16777216.0f);
    float value = lo + (hi - lo) * unit;
    if (value == 0.0f) value = hi * 0.5f;
    data[i] = kachi::cuda::internal::FromFloat<T>(value);
  }
}

// Fills data[0, n) on the default stream and waits.
template <typename T>
absl::Status RandomFill(T* data, int64_t n, uint64_t seed, float lo = -1.0f, float hi = 1.0f) {
  RandomFillKernel<T><<<1024, 256>>>(data, n, seed, lo, hi);
  KACHI_CUDA_RETURN_IF_LAUNCH_FAILED("RandomFillKernel");
  KACHI_CUDA_RETURN_IF_ERROR(cudaDeviceSynchronize());
  return absl::OkStatus();
}

// A device allocation freed on scope exit: the foundation buffer, allocated after declaration with Reallocate.
using DeviceMemory = base::DeviceBuffer;

// One timed run: optional L2 flush (a memset of `flush_bytes` at `flush`), then `launch` between two events.
inline absl::StatusOr<float> TimeOnce(const std::function<absl::Status()>& launch, cudaStream_t stream, void* flush,
                                      size_t flush_bytes, int fill, cudaEvent_t start, cudaEvent_t stop) {
  if (flush != nullptr) KACHI_CUDA_RETURN_IF_ERROR(cudaMemsetAsync(flush, fill, flush_bytes, stream));
  KACHI_CUDA_RETURN_IF_ERROR(cudaEventRecord(start, stream));
  KACHI_RETURN_IF_ERROR(launch());
  KACHI_CUDA_RETURN_IF_ERROR(cudaEventRecord(stop, stream));
  KACHI_CUDA_RETURN_IF_ERROR(cudaEventSynchronize(stop));
  float milliseconds = 0;
  KACHI_CUDA_RETURN_IF_ERROR(cudaEventElapsedTime(&milliseconds, start, stop));
  return milliseconds;
}

// Median milliseconds of `repeats` event-timed runs of `launch` on `stream`, after `warmup` untimed runs; before
// every timed run a memset of `flush_bytes` at `flush` evicts the inputs from L2, so each run starts cold.
inline absl::StatusOr<double> MedianMilliseconds(const std::function<absl::Status()>& launch, cudaStream_t stream,
                                                 void* flush, size_t flush_bytes, int warmup = 3, int repeats = 20) {
  for (int i = 0; i < warmup; ++i) {
    KACHI_RETURN_IF_ERROR(launch());
  }
  cudaEvent_t start, stop;
  KACHI_CUDA_RETURN_IF_ERROR(cudaEventCreate(&start));
  KACHI_CUDA_RETURN_IF_ERROR(cudaEventCreate(&stop));
  std::vector<double> times;
  absl::Status failure = absl::OkStatus();
  for (int i = 0; i < repeats; ++i) {
    absl::StatusOr<float> milliseconds = TimeOnce(launch, stream, flush, flush_bytes, i & 0xff, start, stop);
    if (!milliseconds.ok()) {
      failure = milliseconds.status();
      break;
    }
    times.push_back(*milliseconds);
  }
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  KACHI_RETURN_IF_ERROR(failure);
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

}  // namespace kachi::bench_internal

#endif  // KACHI_BENCH_KERNELS_CUDA_MEMORY_BENCH_UTIL_CUH_
