// DeviceBuffer: the one owner of a raw CUDA allocation in kachi — device memory (cudaMalloc) or page-locked host
// memory (cudaMallocHost) — RAII and move-only, with allocation failures as absl::Status. Every layer that keeps a
// device or pinned buffer (comm staging, the CUDA ops, the NCCL backend, benchmarks, tests) holds one of these
// instead of pairing cudaMalloc/cudaFree by hand. The header includes no CUDA header, so CPU code may hold one; in
// CPU-only builds device memory is Unavailable and "pinned" host memory is plain heap memory.
#ifndef KACHI_KERNELS_BASE_DEVICE_BUFFER_H_
#define KACHI_KERNELS_BASE_DEVICE_BUFFER_H_

#include <cstddef>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace kachi::base {

// Where a DeviceBuffer's bytes live.
enum class MemoryKind {
  kDevice,      // device memory of the calling thread's current device
  kPinnedHost,  // page-locked host memory (plain heap memory in CPU-only builds)
};

class DeviceBuffer {
 public:
  // An empty buffer (data() is null, bytes() is 0).
  DeviceBuffer() = default;
  // `bytes` bytes of `kind`, zero-filled when `zero` (device memory: a synchronous cudaMemset). Zero bytes give an
  // empty buffer. Errors: ResourceExhausted when the allocation fails (naming `what` and the size), Unavailable for
  // device memory in a CPU-only build or without a usable device.
  static absl::StatusOr<DeviceBuffer> Allocate(size_t bytes, MemoryKind kind = MemoryKind::kDevice, bool zero = false,
                                               const char* what = "buffer");

  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  DeviceBuffer(DeviceBuffer&& other) noexcept;
  DeviceBuffer& operator=(DeviceBuffer&& other) noexcept;
  // Frees the memory (cudaFree / cudaFreeHost; device memory is freed after the device's pending work, as
  // cudaFree does).
  ~DeviceBuffer() { Reset(); }

  // Frees the memory now; the buffer becomes empty.
  void Reset();
  // Frees the memory, then holds a fresh allocation as Allocate makes it (empty on error).
  absl::Status Reallocate(size_t bytes, MemoryKind kind = MemoryKind::kDevice, bool zero = false,
                          const char* what = "buffer");

  void* data() const { return data_; }
  // The memory as an array of T.
  template <typename T>
  T* as() const {
    return static_cast<T*>(data_);
  }
  size_t bytes() const { return bytes_; }
  MemoryKind kind() const { return kind_; }
  bool empty() const { return data_ == nullptr; }

 private:
  DeviceBuffer(void* data, size_t bytes, MemoryKind kind) : data_(data), bytes_(bytes), kind_(kind) {}

  void* data_ = nullptr;
  size_t bytes_ = 0;
  MemoryKind kind_ = MemoryKind::kDevice;
};

}  // namespace kachi::base

#endif  // KACHI_KERNELS_BASE_DEVICE_BUFFER_H_
