// Reusable staging and host buffers of checkpoint snapshots (see snapshot_memory.h).
#include "runtime/ckpt/snapshot_memory.h"

#include "absl/strings/str_cat.h"

namespace kachi::ckpt {

absl::Status SnapshotBuffer::Reserve(DeviceContext* ops, size_t bytes) {
  if (ops == ops_ && bytes <= capacity_) return absl::OkStatus();
  Free();
  if (bytes == 0) return absl::OkStatus();
  const bool in_ops = memory_ == SnapshotMemory::kOps;
  data_ = static_cast<char*>(in_ops ? ops->AllocateBytes(bytes) : ops->AllocateHost(bytes));
  if (data_ == nullptr) {
    if (in_ops) {
      return absl::ResourceExhaustedError(
          absl::StrCat("cannot allocate a ", bytes, "-byte checkpoint staging buffer in ", ops->name(),
                       " memory (set checkpoint.device_snapshot = false to download into pinned host memory instead)"));
    }
    return absl::ResourceExhaustedError(
        absl::StrCat("cannot allocate a ", bytes, "-byte checkpoint host buffer (", ops->name(), " ops)"));
  }
  ops_ = ops;
  capacity_ = bytes;
  return absl::OkStatus();
}

void SnapshotBuffer::Free() {
  if (ops_ != nullptr && data_ != nullptr) {
    if (memory_ == SnapshotMemory::kOps) {
      ops_->Release(data_);
    } else {
      ops_->ReleaseHost(data_);
    }
  }
  ops_ = nullptr;
  data_ = nullptr;
  capacity_ = 0;
}

}  // namespace kachi::ckpt
