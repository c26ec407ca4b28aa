// CUDA runtime and cuBLASLt return codes turned into absl::Status for the cuda_matmul family (matmul, its
// epilogue fallbacks, cross-entropy). Every CUDA call and every kernel launch in the family goes through these.
#ifndef KACHI_KERNELS_MATMUL_STATUS_CUDA_H_
#define KACHI_KERNELS_MATMUL_STATUS_CUDA_H_

#include <cublasLt.h>
#include <cuda_runtime.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "kernels/base/cuda_status.h"

namespace kachi::cuda::matmul_internal {

// CUDA errors and the last launch as absl::Status (kernels/base/cuda_status.h).
using ::kachi::base::CudaStatus;
using ::kachi::base::LaunchStatus;

// OK for CUBLAS_STATUS_SUCCESS, else Internal naming the call and the cuBLAS status.
inline absl::Status CublasStatus(cublasStatus_t status, const char* what) {
  if (status == CUBLAS_STATUS_SUCCESS) return absl::OkStatus();
  return absl::InternalError(absl::StrCat(what, " failed: cuBLAS status ", static_cast<int>(status), " (",
                                          cublasLtGetStatusName(status), ": ", cublasLtGetStatusString(status), ")"));
}

}  // namespace kachi::cuda::matmul_internal

#endif  // KACHI_KERNELS_MATMUL_STATUS_CUDA_H_
