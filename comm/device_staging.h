// Device-buffer support for the MPI backend: tells CUDA device memory from host memory and stages it through
// reusable pinned host buffers. In CPU-only builds every pointer is host memory and no CUDA call is made.
#ifndef KACHI_COMM_DEVICE_STAGING_H_
#define KACHI_COMM_DEVICE_STAGING_H_

#include <cstddef>

#include "absl/status/status.h"
#include "kernels/base/device_buffer.h"

namespace kachi {

// True when `ptr` points to CUDA device memory (not pageable, pinned or managed host-accessible memory). False in
// CPU-only builds, when no CUDA device exists, or for null. The first call on a machine with a GPU initializes the
// CUDA runtime.
bool IsDeviceMemory(const void* ptr);

// A host buffer that grows to the largest size asked for and is reused: pinned (a base::DeviceBuffer of pinned host
// memory: cudaMallocHost in CUDA builds so device copies run at full speed, plain heap memory otherwise). Not
// thread-safe.
class PinnedBuffer {
 public:
  // Returns a buffer of at least `bytes` bytes (contents unspecified), or an error if allocation fails.
  absl::Status Reserve(size_t bytes);
  // The buffer (valid after a successful Reserve until the next one).
  void* data() const { return buffer_.data(); }

 private:
  base::DeviceBuffer buffer_;
};

// Synchronous copies between device memory and host memory (errors name the CUDA error). Unavailable in CPU-only
// builds.
absl::Status CopyDeviceToHost(void* host, const void* device, size_t bytes);
absl::Status CopyHostToDevice(void* device, const void* host, size_t bytes);

// Blocks until `cuda_event` (a cudaEvent_t passed as void*) has completed; OK at once for null. Unavailable for a
// non-null event in CPU-only builds.
absl::Status WaitForCudaEvent(void* cuda_event);

}  // namespace kachi

#endif  // KACHI_COMM_DEVICE_STAGING_H_
