// Reusable staging and host buffers of checkpoint snapshots (see snapshot_memory.h).
#include "runtime/ckpt/snapshot_memory.h"

#include "absl/strings/str_cat.h"

namespace kachi::ckpt {

absl::Status StagingBuffer::Reserve(ModelOps* ops, size_t bytes) {
  if (ops == ops_ && bytes <= capacity_) return absl::OkStatus();
  Free();
  if (bytes == 0) return absl::OkStatus();
  data_ = static_cast<char*>(ops->AllocateBytes(bytes));
  if (data_ == nullptr) {
    return absl::ResourceExhaustedError(absl::StrCat("cannot allocate a ", bytes, "-byte checkpoint staging buffer in ",
                                                     ops->name(), " memory (set checkpoint.device_snapshot = false "
                                                     "to download into pinned host memory instead)"));
  }
  ops_ = ops;
  capacity_ = bytes;
  return absl::OkStatus();
}

void StagingBuffer::Free() {
  if (ops_ != nullptr && data_ != nullptr) ops_->Release(data_);
  ops_ = nullptr;
  data_ = nullptr;
  capacity_ = 0;
}

absl::Status HostBuffer::Reserve(ModelOps* ops, size_t bytes) {
  if (ops == ops_ && bytes <= capacity_) return absl::OkStatus();
  Free();
  if (bytes == 0) return absl::OkStatus();
  data_ = static_cast<char*>(ops->AllocateHost(bytes));
  if (data_ == nullptr) {
    return absl::ResourceExhaustedError(
        absl::StrCat("cannot allocate a ", bytes, "-byte checkpoint host buffer (", ops->name(), " ops)"));
  }
  ops_ = ops;
  capacity_ = bytes;
  return absl::OkStatus();
}

void HostBuffer::Free() {
  if (ops_ != nullptr && data_ != nullptr) ops_->ReleaseHost(data_);
  ops_ = nullptr;
  data_ = nullptr;
  capacity_ = 0;
}

}  // namespace kachi::ckpt
