// Reusable memory of checkpoint snapshots: a staging buffer in a ModelOps' memory (device memory for the CUDA ops)
// and a host buffer (page-locked when the ops can pin memory). Each grows on demand, is reused by later saves of
// the run, and is freed through the ops that allocated it when it is destroyed (so that ModelOps must outlive it).
#ifndef KACHI_RUNTIME_CKPT_SNAPSHOT_MEMORY_H_
#define KACHI_RUNTIME_CKPT_SNAPSHOT_MEMORY_H_

#include <cstddef>

#include "absl/status/status.h"
#include "runtime/model/model_ops.h"

namespace kachi::ckpt {

// Bytes in `ops`' memory (ModelOps::AllocateBytes / Release).
class StagingBuffer {
 public:
  StagingBuffer() = default;
  StagingBuffer(const StagingBuffer&) = delete;
  StagingBuffer& operator=(const StagingBuffer&) = delete;
  ~StagingBuffer() { Free(); }

  // Makes at least `bytes` bytes available in `ops`' memory, keeping the current allocation when it is from the
  // same ops and large enough; ResourceExhausted when the allocation fails.
  absl::Status Reserve(ModelOps* ops, size_t bytes);
  // Frees the memory now.
  void Free();
  // The memory (null before the first Reserve of a non-zero size) and its size in bytes.
  char* data() const { return data_; }
  size_t capacity() const { return capacity_; }

 private:
  ModelOps* ops_ = nullptr;
  char* data_ = nullptr;
  size_t capacity_ = 0;
};

// Host bytes from `ops` (ModelOps::AllocateHost / ReleaseHost: pinned for the CUDA ops, plain for the CPU ops).
class HostBuffer {
 public:
  HostBuffer() = default;
  HostBuffer(const HostBuffer&) = delete;
  HostBuffer& operator=(const HostBuffer&) = delete;
  ~HostBuffer() { Free(); }

  // As StagingBuffer::Reserve, Free, data and capacity, for host memory.
  absl::Status Reserve(ModelOps* ops, size_t bytes);
  void Free();
  char* data() const { return data_; }
  size_t capacity() const { return capacity_; }

 private:
  ModelOps* ops_ = nullptr;
  char* data_ = nullptr;
  size_t capacity_ = 0;
};

}  // namespace kachi::ckpt

#endif  // KACHI_RUNTIME_CKPT_SNAPSHOT_MEMORY_H_
