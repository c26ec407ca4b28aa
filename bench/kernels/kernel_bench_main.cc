// KernelBenchMain (kernel_bench.h): the one body of the stand-alone kernel benchmark programs.
#include <cuda_runtime.h>

#include <iostream>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_format.h"
#include "bench/kernels/kernel_bench.h"

namespace kachi {

int KernelBenchMain(const char* program, KernelBenchTable table) {
  cudaDeviceProp properties{};
  if (const cudaError_t error = cudaGetDeviceProperties(&properties, 0); error != cudaSuccess) {
    std::cerr << program << ": no CUDA device (cudaGetDeviceProperties: " << cudaGetErrorString(error) << ")\n";
    return 1;
  }
  absl::StatusOr<KernelBenchCeilings> ceilings = MeasureKernelCeilings();
  if (!ceilings.ok()) {
    std::cerr << program << ": measuring the ceilings: " << ceilings.status() << "\n";
    return 1;
  }
  std::cout << absl::StrFormat(
      "# device %s, %d SMs, L2 %d MB; ceilings: copy %.1f GB/s (1 GiB device-to-device, read + write), bf16 GEMM "
      "%.1f TFLOP/s (cuBLAS 8192^3)\n",
      properties.name, properties.multiProcessorCount, properties.l2CacheSize >> 20, ceilings->copy_gbps,
      ceilings->bf16_matmul_tflops);
  std::cout.flush();
  if (const absl::Status status = table(*ceilings, std::cout); !status.ok()) {
    std::cerr << program << ": " << status << "\n";
    return 1;
  }
  return 0;
}

}  // namespace kachi
