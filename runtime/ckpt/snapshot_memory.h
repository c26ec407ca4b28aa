// Reusable memory of checkpoint snapshots: a staging buffer in a DeviceContext's memory (device memory for CUDA)
// and a host buffer (page-locked when the ops can pin memory). Each grows on demand, is reused by later saves of
// the run, and is freed through the ops that allocated it when it is destroyed (so that DeviceContext must outlive it).
#ifndef KACHI_RUNTIME_CKPT_SNAPSHOT_MEMORY_H_
#define KACHI_RUNTIME_CKPT_SNAPSHOT_MEMORY_H_

#include <cstddef>

#include "absl/status/status.h"
#include "runtime/model/device_context.h"

namespace kachi::ckpt {

// Where a SnapshotBuffer's bytes come from: the ops' own memory (DeviceContext::AllocateBytes / Release: device memory
// for the CUDA ops), or host memory from the ops (AllocateHost / ReleaseHost: pinned for the CUDA ops, plain for the
// CPU ops).
enum class SnapshotMemory { kOps, kHost };

// Reusable snapshot bytes of one kind of memory.
class SnapshotBuffer {
 public:
  explicit SnapshotBuffer(SnapshotMemory memory) : memory_(memory) {}
  SnapshotBuffer(const SnapshotBuffer&) = delete;
  SnapshotBuffer& operator=(const SnapshotBuffer&) = delete;
  ~SnapshotBuffer() { Free(); }

  // Makes at least `bytes` bytes available from `ops`, keeping the current allocation when it is from the same ops
  // and large enough; ResourceExhausted when the allocation fails.
  absl::Status Reserve(DeviceContext* ops, size_t bytes);
  // Frees the memory now.
  void Free();
  // The memory (null before the first Reserve of a non-zero size) and its size in bytes.
  char* data() const { return data_; }
  size_t capacity() const { return capacity_; }

 private:
  const SnapshotMemory memory_;
  DeviceContext* ops_ = nullptr;
  char* data_ = nullptr;
  size_t capacity_ = 0;
};

}  // namespace kachi::ckpt

#endif  // KACHI_RUNTIME_CKPT_SNAPSHOT_MEMORY_H_
