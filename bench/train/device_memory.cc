// cudaMemGetInfo-based peak memory of a run (see device_memory.h).
#include "bench/train/device_memory.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "kernels/base/status_macros.h"

#ifdef KACHI_WITH_CUDA
#include <cuda_runtime.h>
#endif

namespace kachi {
namespace {

#ifdef KACHI_WITH_CUDA
// Bytes in use on the current device.
absl::StatusOr<int64_t> UsedBytes() {
  size_t free_bytes = 0, total_bytes = 0;
  if (const cudaError_t error = cudaMemGetInfo(&free_bytes, &total_bytes); error != cudaSuccess) {
    return absl::InternalError(absl::StrCat("cudaMemGetInfo: ", cudaGetErrorString(error)));
  }
  return static_cast<int64_t>(total_bytes - free_bytes);
}
#endif

}  // namespace

absl::StatusOr<DeviceMemoryProbe> DeviceMemoryProbe::Start(int device) {
#ifdef KACHI_WITH_CUDA
  if (const cudaError_t error = cudaSetDevice(device); error != cudaSuccess) {
    return absl::InternalError(absl::StrCat("cudaSetDevice(", device, "): ", cudaGetErrorString(error)));
  }
  if (const cudaError_t error = cudaFree(nullptr); error != cudaSuccess) {
    return absl::InternalError(absl::StrCat("creating the CUDA context on device ", device, ": ",
                                            cudaGetErrorString(error)));
  }
  KACHI_ASSIGN_OR_RETURN(int64_t used, UsedBytes());
  DeviceMemoryProbe probe;
  probe.baseline_used_ = used;
  probe.peak_used_ = used;
  return probe;
#else
  return absl::UnavailableError(absl::StrCat("device ", device, ": this is a CPU-only build (no CUDA)"));
#endif
}

absl::Status DeviceMemoryProbe::Sample() {
#ifdef KACHI_WITH_CUDA
  KACHI_ASSIGN_OR_RETURN(int64_t used, UsedBytes());
  peak_used_ = std::max(peak_used_, used);
  return absl::OkStatus();
#else
  return absl::UnavailableError("this is a CPU-only build (no CUDA)");
#endif
}

}  // namespace kachi
