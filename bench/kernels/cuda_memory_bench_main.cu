// bench_cuda_memory: measures the GPU's ceilings and prints the cuda_memory kernel table (BenchMemoryKernels),
// for running on a GPU machine before `kachi bench kernels` is wired.
#include <cuda_runtime.h>

#include <iostream>

#include "absl/strings/str_format.h"
#include "bench/kernels/kernel_bench.h"

int main() {
  cudaDeviceProp properties;
  if (cudaGetDeviceProperties(&properties, 0) != cudaSuccess) {
    std::cerr << "bench_cuda_memory: no CUDA device (cudaGetDeviceProperties failed)\n";
    return 1;
  }
  absl::StatusOr<kachi::KernelBenchCeilings> ceilings = kachi::MeasureKernelCeilings();
  if (!ceilings.ok()) {
    std::cerr << "bench_cuda_memory: ceilings: " << ceilings.status() << "\n";
    return 1;
  }
  std::cout << absl::StrFormat("# device %s, %d SMs, L2 %d MB; copy %.0f GB/s (read + write), bf16 GEMM %.0f TFLOP/s\n",
                               properties.name, properties.multiProcessorCount, properties.l2CacheSize >> 20,
                               ceilings->copy_gbps, ceilings->bf16_matmul_tflops);
  if (absl::Status status = kachi::BenchMemoryKernels(*ceilings, std::cout); !status.ok()) {
    std::cerr << "bench_cuda_memory: " << status << "\n";
    return 1;
  }
  return 0;
}
