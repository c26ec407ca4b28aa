// Device-memory detection and pinned staging buffers for the MPI backend (see device_staging.h).
#include "comm/device_staging.h"

#include <cstdlib>

#include "absl/strings/str_cat.h"

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

PinnedBuffer::~PinnedBuffer() {
  if (data_ != nullptr) cudaFreeHost(data_);
}

absl::Status PinnedBuffer::Reserve(size_t bytes) {
  if (bytes <= capacity_) return absl::OkStatus();
  if (data_ != nullptr) cudaFreeHost(data_);
  data_ = nullptr;
  capacity_ = 0;
  void* fresh = nullptr;
  if (auto s = base::CudaStatus(cudaMallocHost(&fresh, bytes), "cudaMallocHost"); !s.ok()) {
    return absl::ResourceExhaustedError(absl::StrCat("staging ", bytes, " bytes of pinned memory: ", s.message()));
  }
  data_ = fresh;
  capacity_ = bytes;
  return absl::OkStatus();
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

PinnedBuffer::~PinnedBuffer() { std::free(data_); }

absl::Status PinnedBuffer::Reserve(size_t bytes) {
  if (bytes <= capacity_) return absl::OkStatus();
  std::free(data_);
  data_ = std::malloc(bytes);
  capacity_ = data_ != nullptr ? bytes : 0;
  if (data_ == nullptr) return absl::ResourceExhaustedError(absl::StrCat("staging buffer of ", bytes, " bytes"));
  return absl::OkStatus();
}

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

}  // namespace kachi
