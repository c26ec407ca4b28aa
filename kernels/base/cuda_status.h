// The CUDA runtime error -> absl::Status converter of every layer (sources that include the CUDA runtime): OK for
// cudaSuccess, else "<what> failed: CUDA error <n> (<cudaGetErrorName>: <cudaGetErrorString>)", Unavailable for a
// missing device or driver and Internal otherwise; and the status of the last kernel launch.
#ifndef KACHI_KERNELS_BASE_CUDA_STATUS_H_
#define KACHI_KERNELS_BASE_CUDA_STATUS_H_

#include <cuda_runtime.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace kachi::base {

// OK for cudaSuccess, else an error naming the failed call `what` and the CUDA error.
// A failure also clears a non-sticky error, so later calls are not blamed for it.
inline absl::Status CudaStatus(cudaError_t error, absl::string_view what) {
  if (error == cudaSuccess) return absl::OkStatus();
  cudaGetLastError();
  const absl::StatusCode code = (error == cudaErrorNoDevice || error == cudaErrorInsufficientDriver)
                                    ? absl::StatusCode::kUnavailable
                                    : absl::StatusCode::kInternal;
  return absl::Status(code, absl::StrCat(what, " failed: CUDA error ", static_cast<int>(error), " (",
                                         cudaGetErrorName(error), ": ", cudaGetErrorString(error), ")"));
}

// Status of the kernel launch just issued (cudaGetLastError), naming `kernel` on failure.
inline absl::Status LaunchStatus(absl::string_view kernel) { return CudaStatus(cudaGetLastError(), kernel); }

}  // namespace kachi::base

#endif  // KACHI_KERNELS_BASE_CUDA_STATUS_H_
