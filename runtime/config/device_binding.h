// Which CUDA device a rank uses and which backend its world communicator gets. The decisions are pure functions
// of (local rank, local size, visible device count, config) so they are tested without GPUs; VisibleDeviceCount()
// is the only part that asks CUDA (and so honours CUDA_VISIBLE_DEVICES).
#ifndef KACHI_RUNTIME_CONFIG_DEVICE_BINDING_H_
#define KACHI_RUNTIME_CONFIG_DEVICE_BINDING_H_

#include <string>

#include "absl/status/statusor.h"
#include "runtime/proto/config.pb.h"

namespace kachi {

// Number of CUDA devices this process can see (cudaGetDeviceCount); 0 in CPU-only builds or without a driver.
int VisibleDeviceCount();

// The device chosen for a rank: `local_rank` when every local rank has its own device, `local_rank % count` when
// launcher.allow_device_sharing permits sharing, -1 when there are no devices. Errors (FailedPrecondition) when
// more ranks than devices share a node and sharing is not allowed; the message gives both numbers.
absl::StatusOr<int> ChooseDevice(int local_rank, int local_size, int device_count, bool allow_device_sharing);

// True when ranks of this node must share devices (more local ranks than visible devices).
bool DevicesShared(int local_size, int device_count);

// "mpi" or "nccl" for `requested`: AUTO is nccl when `device` >= 0, `nccl_available` and the device is not shared
// with another rank of this node (NCCL refuses two ranks of one communicator on one GPU), else mpi. NCCL without
// a device, without NCCL in the build, or on a shared device is an error that says which.
absl::StatusOr<std::string> ChooseBackend(config::CommConfig::Backend requested, int device, bool nccl_available,
                                          bool device_shared);

}  // namespace kachi

#endif  // KACHI_RUNTIME_CONFIG_DEVICE_BINDING_H_
