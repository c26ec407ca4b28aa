// The CUDA runtime error -> absl::Status converter of the kernels (CUDA sources only): OK for cudaSuccess, else
// Internal "<what> failed: <cudaGetErrorName> (<cudaGetErrorString>)"; and the status of the last kernel launch.
// comm/nccl_status.h keeps its own CudaStatus, which also maps a missing device or driver to Unavailable.
#ifndef KACHI_KERNELS_BASE_CUDA_STATUS_H_
#define KACHI_KERNELS_BASE_CUDA_STATUS_H_

#include <cuda_runtime.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace kachi::base {

// OK for cudaSuccess, else Internal naming the failed call `what` and the CUDA error.
inline absl::Status CudaStatus(cudaError_t error, absl::string_view what) {
  if (error == cudaSuccess) return absl::OkStatus();
  return absl::InternalError(absl::StrCat(what, " failed: ", cudaGetErrorName(error), " (",
                                          cudaGetErrorString(error), ")"));
}

// Status of the kernel launch just issued (cudaGetLastError), naming `kernel` on failure.
inline absl::Status LaunchStatus(absl::string_view kernel) { return CudaStatus(cudaGetLastError(), kernel); }

}  // namespace kachi::base

#endif  // KACHI_KERNELS_BASE_CUDA_STATUS_H_
