// DeviceContext: the memory and stream side of a backend — allocation, host <-> device copies, the compute
// stream's synchronization and events, pinned host buffers and the checkpoint staging copies. Host memory for the
// CPU backend, device memory and one CUDA stream for the CUDA backend. Its kernel side is KernelOps
// (kernel_ops.h); a backend implements both (ModelOps, model_ops.h). Code that only moves or keeps bytes (activation
// and parameter buffers, checkpoint snapshots, the trainer's downloads and events) takes a DeviceContext.
#ifndef KACHI_RUNTIME_MODEL_DEVICE_CONTEXT_H_
#define KACHI_RUNTIME_MODEL_DEVICE_CONTEXT_H_

#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "runtime/model/bf16.h"

namespace kachi {

class DeviceContext {
 public:
  virtual ~DeviceContext() = default;

  // "cpu" or "cuda".
  virtual absl::string_view name() const = 0;
  // True when Allocate* returns device memory (collectives then need a device-buffer backend such as NCCL).
  virtual bool device_memory() const = 0;

  // Zero-filled memory of `count` elements (null when allocation fails or count is 0); Release frees what
  // Allocate* returned (nullptr is ignored).
  virtual float* AllocateFloats(int64_t count) = 0;
  virtual int32_t* AllocateInts(int64_t count) = 0;
  Bf16* AllocateBf16(int64_t count) { return static_cast<Bf16*>(AllocateBytes(count * sizeof(Bf16))); }
  // `bytes` bytes of this context's memory, zero-filled, freed by Release (e.g. checkpoint snapshots: copy the
  // state aside on the training thread, download it on the writer's thread).
  virtual void* AllocateBytes(size_t bytes) = 0;
  virtual void Release(void* data) = 0;
  // Host memory -> this context's memory and back (`bytes` bytes); complete on return.
  virtual absl::Status Upload(void* dst, const void* host_src, size_t bytes) = 0;
  virtual absl::Status Download(void* host_dst, const void* src, size_t bytes) = 0;
  // dst = src (`bytes` bytes, both in this context's memory), queued after all earlier work (the CPU: done at
  // return).
  virtual absl::Status CopyAsync(void* dst, const void* src, size_t bytes) = 0;
  // Waits for all queued work.
  virtual absl::Status Synchronize() = 0;
  // A marker after all work queued so far on the compute stream, for Communicator::WaitEvent (so a collective can
  // follow device work without a host sync): a pooled cudaEvent_t as void* for the CUDA backend, nullptr for host
  // memory (every op is complete on return). Give it back with ReleaseEvent once nothing waits on it any more.
  virtual absl::StatusOr<void*> RecordEvent() = 0;
  // Returns an event from RecordEvent to the pool (nullptr is ignored).
  virtual void ReleaseEvent(void* event) = 0;

  // Page-locked host memory (plain host memory for the CPU backend) for fast downloads, zero-filled (null when
  // allocation fails), freed by ReleaseHost.
  virtual void* AllocateHost(size_t bytes) = 0;
  virtual void ReleaseHost(void* data) = 0;
  // Copies `bytes` bytes from this context's memory to host memory on a private stream and waits for that copy
  // only; may be called from any thread while training goes on. The source must be complete (e.g. CopyAsync
  // followed by Synchronize on the training thread).
  virtual absl::Status DownloadConcurrent(void* host_dst, const void* src, size_t bytes) = 0;
};

// An owned array in a DeviceContext's memory (zero-filled).
template <typename T>
class OpsBuffer {
 public:
  OpsBuffer() = default;
  OpsBuffer(DeviceContext* device, int64_t count) { Reset(device, count); }
  OpsBuffer(const OpsBuffer&) = delete;
  OpsBuffer& operator=(const OpsBuffer&) = delete;
  OpsBuffer(OpsBuffer&& other) noexcept { *this = std::move(other); }
  OpsBuffer& operator=(OpsBuffer&& other) noexcept {
    std::swap(device_, other.device_);
    std::swap(data_, other.data_);
    std::swap(size_, other.size_);
    return *this;
  }
  ~OpsBuffer() { Reset(nullptr, 0); }

  // Frees the old array and allocates `count` zeroed elements (none when device is null or count is 0); status()
  // tells whether the allocation succeeded.
  void Reset(DeviceContext* device, int64_t count) {
    if (device_ != nullptr) device_->Release(data_);
    device_ = device;
    size_ = count;
    data_ = nullptr;
    if (device != nullptr && count > 0) {
      if constexpr (std::is_same_v<T, int32_t>) {
        data_ = device->AllocateInts(count);
      } else if constexpr (std::is_same_v<T, Bf16>) {
        data_ = device->AllocateBf16(count);
      } else {
        data_ = device->AllocateFloats(count);
      }
    }
  }
  T* data() { return data_; }
  const T* data() const { return data_; }
  // Element access: only for host memory (a DeviceContext whose device_memory() is false).
  T& operator[](int64_t i) { return data_[i]; }
  const T& operator[](int64_t i) const { return data_[i]; }
  int64_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  // OK, or ResourceExhausted when the last Reset could not allocate its elements (data() is then null).
  absl::Status status() const {
    if (size_ == 0 || data_ != nullptr || device_ == nullptr) return absl::OkStatus();
    return absl::ResourceExhaustedError(absl::StrCat("cannot allocate ", size_, " elements (",
                                                     size_ * static_cast<int64_t>(sizeof(T)), " bytes) of ",
                                                     device_->name(), " memory"));
  }

 private:
  DeviceContext* device_ = nullptr;
  T* data_ = nullptr;
  int64_t size_ = 0;
};

}  // namespace kachi

#endif  // KACHI_RUNTIME_MODEL_DEVICE_CONTEXT_H_
