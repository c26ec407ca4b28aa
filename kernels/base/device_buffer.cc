// DeviceBuffer's allocation and release (see device_buffer.h): the CUDA runtime in CUDA builds, the heap for pinned
// host memory in CPU-only builds.
#include "kernels/base/device_buffer.h"

#include <cstdlib>
#include <cstring>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

#ifdef KACHI_WITH_CUDA
#include <cuda_runtime.h>

#include "kernels/base/cuda_status.h"
#endif

namespace kachi::base {
#ifdef KACHI_WITH_CUDA
namespace {

const char* KindName(MemoryKind kind) { return kind == MemoryKind::kDevice ? "device memory" : "pinned host memory"; }

}  // namespace
#endif

absl::StatusOr<DeviceBuffer> DeviceBuffer::Allocate(size_t bytes, MemoryKind kind, bool zero, const char* what) {
  if (bytes == 0) return DeviceBuffer();
  void* data = nullptr;
#ifdef KACHI_WITH_CUDA
  const cudaError_t error = kind == MemoryKind::kDevice ? cudaMalloc(&data, bytes) : cudaMallocHost(&data, bytes);
  if (error != cudaSuccess) {
    const absl::Status status = CudaStatus(error, kind == MemoryKind::kDevice ? "cudaMalloc" : "cudaMallocHost");
    if (status.code() == absl::StatusCode::kUnavailable) return status;
    return absl::ResourceExhaustedError(absl::StrCat("cannot allocate ", bytes, " bytes of ", KindName(kind),
                                                     " for the ", what, ": ", status.message()));
  }
  DeviceBuffer buffer(data, bytes, kind);
  if (zero) {
    if (kind == MemoryKind::kDevice) {
      if (absl::Status status = CudaStatus(cudaMemset(data, 0, bytes), "cudaMemset"); !status.ok()) return status;
    } else {
      std::memset(data, 0, bytes);
    }
  }
  return buffer;
#else
  if (kind == MemoryKind::kDevice) {
    return absl::UnavailableError(
        absl::StrCat("the ", what, " needs ", bytes, " bytes of device memory: this kachi build has no CUDA"));
  }
  data = zero ? std::calloc(bytes, 1) : std::malloc(bytes);
  if (data == nullptr) {
    return absl::ResourceExhaustedError(
        absl::StrCat("cannot allocate ", bytes, " bytes of host memory for the ", what));
  }
  return DeviceBuffer(data, bytes, kind);
#endif
}

DeviceBuffer::DeviceBuffer(DeviceBuffer&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), bytes_(std::exchange(other.bytes_, 0)), kind_(other.kind_) {}

DeviceBuffer& DeviceBuffer::operator=(DeviceBuffer&& other) noexcept {
  if (this != &other) {
    Reset();
    data_ = std::exchange(other.data_, nullptr);
    bytes_ = std::exchange(other.bytes_, 0);
    kind_ = other.kind_;
  }
  return *this;
}

absl::Status DeviceBuffer::Reallocate(size_t bytes, MemoryKind kind, bool zero, const char* what) {
  Reset();
  absl::StatusOr<DeviceBuffer> fresh = Allocate(bytes, kind, zero, what);
  if (!fresh.ok()) return fresh.status();
  *this = std::move(*fresh);
  return absl::OkStatus();
}

void DeviceBuffer::Reset() {
  if (data_ == nullptr) return;
#ifdef KACHI_WITH_CUDA
  if (kind_ == MemoryKind::kDevice) {
    cudaFree(data_);
  } else {
    cudaFreeHost(data_);
  }
#else
  std::free(data_);
#endif
  data_ = nullptr;
  bytes_ = 0;
}

}  // namespace kachi::base
