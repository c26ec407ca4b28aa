// DeviceForwardingOps: a ModelOps whose DeviceContext half (memory, copies, the stream's synchronization and events,
// pinned host buffers, checkpoint staging) is passed through to another DeviceContext, so that a subclass wrapping
// the kernels (ProfilingOps) implements the KernelOps half alone. The one place the DeviceContext methods are
// forwarded by hand; a subclass may still override one (a test's allocation limit).
#ifndef KACHI_RUNTIME_MODEL_DEVICE_FORWARDING_OPS_H_
#define KACHI_RUNTIME_MODEL_DEVICE_FORWARDING_OPS_H_

#include <cstddef>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "runtime/model/model_ops.h"

namespace kachi {

class DeviceForwardingOps : public ModelOps {
 public:
  // Passes every DeviceContext call to `device`, which must outlive this object.
  explicit DeviceForwardingOps(DeviceContext* device) : device_(device) {}

  absl::string_view name() const override { return device_->name(); }
  bool device_memory() const override { return device_->device_memory(); }
  float* AllocateFloats(int64_t count) override { return device_->AllocateFloats(count); }
  int32_t* AllocateInts(int64_t count) override { return device_->AllocateInts(count); }
  void* AllocateBytes(size_t bytes) override { return device_->AllocateBytes(bytes); }
  void Release(void* data) override { device_->Release(data); }
  absl::Status Upload(void* dst, const void* host_src, size_t bytes) override {
    return device_->Upload(dst, host_src, bytes);
  }
  absl::Status Download(void* host_dst, const void* src, size_t bytes) override {
    return device_->Download(host_dst, src, bytes);
  }
  absl::Status CopyAsync(void* dst, const void* src, size_t bytes) override {
    return device_->CopyAsync(dst, src, bytes);
  }
  absl::Status Synchronize() override { return device_->Synchronize(); }
  absl::StatusOr<void*> RecordEvent() override { return device_->RecordEvent(); }
  void ReleaseEvent(void* event) override { device_->ReleaseEvent(event); }
  void* AllocateHost(size_t bytes) override { return device_->AllocateHost(bytes); }
  void ReleaseHost(void* data) override { device_->ReleaseHost(data); }
  absl::Status DownloadConcurrent(void* host_dst, const void* src, size_t bytes) override {
    return device_->DownloadConcurrent(host_dst, src, bytes);
  }

 protected:
  // The DeviceContext the calls go to.
  DeviceContext* device() const { return device_; }

 private:
  DeviceContext* device_;
};

}  // namespace kachi

#endif  // KACHI_RUNTIME_MODEL_DEVICE_FORWARDING_OPS_H_
