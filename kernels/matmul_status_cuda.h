// CUDA runtime and cuBLASLt return codes turned into absl::Status for the cuda_matmul family (matmul, its
// epilogue fallbacks, cross-entropy). Every CUDA call and every kernel launch in the family goes through these.
#ifndef KACHI_KERNELS_MATMUL_STATUS_CUDA_H_
#define KACHI_KERNELS_MATMUL_STATUS_CUDA_H_

#include <cublasLt.h>
#include <cuda_runtime.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace kachi::cuda::matmul_internal {

// OK for cudaSuccess, else Internal naming the call and the CUDA error.
inline absl::Status CudaStatus(cudaError_t error, const char* what) {
  if (error == cudaSuccess) return absl::OkStatus();
  return absl::InternalError(absl::StrCat(what, " failed: ", cudaGetErrorName(error), " (",
                                          cudaGetErrorString(error), ")"));
}

// OK for CUBLAS_STATUS_SUCCESS, else Internal naming the call and the cuBLAS status.
inline absl::Status CublasStatus(cublasStatus_t status, const char* what) {
  if (status == CUBLAS_STATUS_SUCCESS) return absl::OkStatus();
  return absl::InternalError(absl::StrCat(what, " failed: cuBLAS status ", static_cast<int>(status), " (",
                                          cublasLtGetStatusName(status), ": ", cublasLtGetStatusString(status), ")"));
}

// Status of the kernel launch just issued (cudaGetLastError), naming the kernel.
inline absl::Status LaunchStatus(const char* kernel) { return CudaStatus(cudaGetLastError(), kernel); }

}  // namespace kachi::cuda::matmul_internal

// Returns from the enclosing function when `expr` (an absl::Status) is not OK.
#define KACHI_MATMUL_RETURN_IF_ERROR(expr)          \
  do {                                              \
    const ::absl::Status kachi_mm_status_ = (expr); \
    if (!kachi_mm_status_.ok()) return kachi_mm_status_; \
  } while (0)

#endif  // KACHI_KERNELS_MATMUL_STATUS_CUDA_H_
