// MeasureKernelCeilings (kernel_bench.h): the GPU's copy bandwidth (1 GiB cudaMemcpyAsync device to device, bytes
// read + written over the median time) and bf16 GEMM rate (cublasGemmEx, 8192^3, fp32 accumulation, random inputs,
// median of repeats), measured on the current device.
#include <cublas_v2.h>

#include "absl/strings/str_cat.h"
#include "bench/kernels/cuda_memory_bench_util.cuh"
#include "bench/kernels/kernel_bench.h"
#include "kernels/base/status_macros.h"

namespace kachi {
namespace {

constexpr size_t kCopyBytes = size_t{1} << 30;
constexpr int kGemmSize = 8192;

absl::Status CublasStatus(cublasStatus_t status, const char* what) {
  if (status == CUBLAS_STATUS_SUCCESS) return absl::OkStatus();
  return absl::InternalError(absl::StrCat(what, " failed: cuBLAS status ", static_cast<int>(status)));
}

absl::StatusOr<double> CopyGigabytesPerSecond() {
  bench_internal::DeviceMemory source, target;
  KACHI_RETURN_IF_ERROR(source.Reallocate(kCopyBytes));
  KACHI_RETURN_IF_ERROR(target.Reallocate(kCopyBytes));
  KACHI_RETURN_IF_ERROR(bench_internal::RandomFill(source.as<float>(), kCopyBytes / sizeof(float), 1));
  auto copy = [&]() {
    return cuda::internal::CudaStatus(
        cudaMemcpyAsync(target.as<char>(), source.as<char>(), kCopyBytes, cudaMemcpyDeviceToDevice, nullptr),
        "cudaMemcpyAsync (device to device)");
  };
  KACHI_ASSIGN_OR_RETURN(double ms, bench_internal::MedianMilliseconds(copy, nullptr, nullptr, 0, 3, 20));
  return 2.0 * kCopyBytes / (ms * 1e-3) / 1e9;
}

absl::StatusOr<double> GemmTeraflops() {
  const size_t elements = static_cast<size_t>(kGemmSize) * kGemmSize;
  bench_internal::DeviceMemory a, b, c;
  KACHI_RETURN_IF_ERROR(a.Reallocate(elements * 2));
  KACHI_RETURN_IF_ERROR(b.Reallocate(elements * 2));
  KACHI_RETURN_IF_ERROR(c.Reallocate(elements * 2));
  KACHI_RETURN_IF_ERROR(bench_internal::RandomFill(a.as<__nv_bfloat16>(), elements, 2));
  KACHI_RETURN_IF_ERROR(bench_internal::RandomFill(b.as<__nv_bfloat16>(), elements, 3));
  cublasHandle_t handle;
  KACHI_RETURN_IF_ERROR(CublasStatus(cublasCreate(&handle), "cublasCreate"));
  const float alpha = 1.0f, beta = 0.0f;
  auto gemm = [&]() {
    return CublasStatus(cublasGemmEx(handle, CUBLAS_OP_N, CUBLAS_OP_N, kGemmSize, kGemmSize, kGemmSize, &alpha,
                                     a.as<void>(), CUDA_R_16BF, kGemmSize, b.as<void>(), CUDA_R_16BF, kGemmSize, &beta,
                                     c.as<void>(), CUDA_R_16BF, kGemmSize, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
                        "cublasGemmEx (bf16, fp32 accumulation)");
  };
  absl::StatusOr<double> ms = bench_internal::MedianMilliseconds(gemm, nullptr, nullptr, 0, 3, 10);
  cublasDestroy(handle);
  KACHI_RETURN_IF_ERROR(ms);
  return 2.0 * kGemmSize * kGemmSize * static_cast<double>(kGemmSize) / (*ms * 1e-3) / 1e12;
}

}  // namespace

absl::StatusOr<KernelBenchCeilings> MeasureKernelCeilings() {
  KernelBenchCeilings ceilings;
  KACHI_ASSIGN_OR_RETURN(double copy, CopyGigabytesPerSecond());
  ceilings.copy_gbps = copy;
  KACHI_ASSIGN_OR_RETURN(double gemm, GemmTeraflops());
  ceilings.bf16_matmul_tflops = gemm;
  return ceilings;
}

}  // namespace kachi
