// Device and backend choice (see device_binding.h).
#include "runtime/config/device_binding.h"

#include "absl/strings/str_cat.h"

#ifdef KACHI_WITH_CUDA
#include <cuda_runtime.h>
#endif

namespace kachi {

int VisibleDeviceCount() {
#ifdef KACHI_WITH_CUDA
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky "no driver / no device" error
    return 0;
  }
  return count;
#else
  return 0;
#endif
}

absl::StatusOr<int> ChooseDevice(int local_rank, int local_size, int device_count, bool allow_device_sharing) {
  if (local_rank < 0 || local_size <= 0 || local_rank >= local_size) {
    return absl::InvalidArgumentError(absl::StrCat("local rank ", local_rank, " of ", local_size,
                                                   " ranks on this node: expected 0 <= local rank < local size"));
  }
  if (device_count <= 0) return -1;
  if (local_size > device_count && !allow_device_sharing) {
    return absl::FailedPreconditionError(absl::StrCat(
        local_size, " ranks on this node but only ", device_count,
        " visible CUDA device(s) (check CUDA_VISIBLE_DEVICES and -np / --ntasks-per-node); expected at most one "
        "rank per GPU, or set launcher.allow_device_sharing=true to share devices round-robin"));
  }
  return local_rank % device_count;
}

bool DevicesShared(int local_size, int device_count) { return device_count > 0 && local_size > device_count; }

absl::StatusOr<std::string> ChooseBackend(config::CommConfig::Backend requested, int device, bool nccl_available,
                                          bool device_shared) {
  switch (requested) {
    case config::CommConfig::MPI:
      return std::string("mpi");
    case config::CommConfig::NCCL:
      if (!nccl_available) {
        return absl::FailedPreconditionError(
            "comm.backend is NCCL but this build of kachi has no NCCL backend (built without CUDA/NCCL); use mpi "
            "or auto");
      }
      if (device < 0) {
        return absl::FailedPreconditionError(
            "comm.backend is NCCL but no CUDA device is visible to this rank; use mpi or auto");
      }
      if (device_shared) {
        return absl::FailedPreconditionError(absl::StrCat(
            "comm.backend is NCCL but device ", device, " is shared with other ranks of this node "
            "(launcher.allow_device_sharing), and NCCL cannot put two ranks of one communicator on one GPU; use "
            "mpi or auto"));
      }
      return std::string("nccl");
    case config::CommConfig::AUTO:
      return std::string(device >= 0 && nccl_available && !device_shared ? "nccl" : "mpi");
  }
  return absl::InvalidArgumentError(absl::StrCat("comm.backend has unknown value ", static_cast<int>(requested)));
}

}  // namespace kachi
