// Device-memory detection and pinned staging buffers for the MPI backend (see device_staging.h).
#include "comm/device_staging.h"

#ifdef KACHI_WITH_CUDA
#include <cuda_runtime.h>

#include "kernels/base/cuda_status.h"
#endif

namespace kachi {

#ifdef KACHI_WITH_CUDA
namespace {

// True once it is known that at least one CUDA device exists (checked once per process).
bool CudaDevicePresent() {
  static const bool present = [] {
    int count = 0;
    if (cudaGetDeviceCount(&count) != cudaSuccess) {
      cudaGetLastError();
      return false;
    }
    return count > 0;
  }();
  return present;
}

}  // namespace

bool IsDeviceMemory(const void* ptr) {
  if (ptr == nullptr || !CudaDevicePresent()) return false;
  cudaPointerAttributes attributes;
  if (cudaPointerGetAttributes(&attributes, ptr) != cudaSuccess) {
    cudaGetLastError();  // e.g. unregistered host memory on old runtimes: clear the error
    return false;
  }
  return attributes.type == cudaMemoryTypeDevice;
}

absl::Status CopyDeviceToHost(void* host, const void* device, size_t bytes) {
  return base::CudaStatus(cudaMemcpy(host, device, bytes, cudaMemcpyDeviceToHost), "cudaMemcpy (device to host)");
}

absl::Status CopyHostToDevice(void* device, const void* host, size_t bytes) {
  return base::CudaStatus(cudaMemcpy(device, host, bytes, cudaMemcpyHostToDevice), "cudaMemcpy (host to device)");
}

absl::Status WaitForCudaEvent(void* cuda_event) {
  if (cuda_event == nullptr) return absl::OkStatus();
  return base::CudaStatus(cudaEventSynchronize(static_cast<cudaEvent_t>(cuda_event)), "cudaEventSynchronize");
}

#else  // CPU-only build

bool IsDeviceMemory(const void*) { return false; }

absl::Status CopyDeviceToHost(void*, const void*, size_t) {
  return absl::UnavailableError("device copy requested in a CPU-only build");
}

absl::Status CopyHostToDevice(void*, const void*, size_t) {
  return absl::UnavailableError("device copy requested in a CPU-only build");
}

absl::Status WaitForCudaEvent(void* cuda_event) {
  if (cuda_event == nullptr) return absl::OkStatus();
  return absl::UnavailableError("a CUDA event to wait for in a CPU-only build");
}

#endif

absl::Status PinnedBuffer::Reserve(size_t bytes) {
  if (bytes <= buffer_.bytes()) return absl::OkStatus();
  return buffer_.Reallocate(bytes, base::MemoryKind::kPinnedHost, false, "MPI device-staging buffer");
}

}  // namespace kachi
