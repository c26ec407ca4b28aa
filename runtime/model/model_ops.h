// ModelOps: the memory and kernels a GptModel and its optimizer run on — the CPU reference kernels (kernels/*.h)
// on host memory, or CUDA kernels on device memory. The model, tensor- and data-parallel code is written once
// against this interface. Pointers passed to an op live in this ModelOps' memory (Allocate*), tokens included.
// The kernel ops are listed once in kernel_op_list.h. Every op has the signature and accumulation convention of
// its CPU twin (kernels/README.md), in fp32, and a bf16 overload for mixed precision (bf16 activations, parameters and
// gradients; statistics such as LayerNorm mean/rstd, attention statistics and cross-entropy pieces stay fp32). The CUDA
// ops run the bf16 overloads natively; for host memory the base class emulates them (bf16_emulation.cc): inputs widened
// to fp32, the fp32 op, outputs rounded to bf16 — the CPU reference of the GPU's mixed precision.
#ifndef KACHI_RUNTIME_MODEL_MODEL_OPS_H_
#define KACHI_RUNTIME_MODEL_MODEL_OPS_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <type_traits>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "runtime/model/bf16.h"
#include "runtime/model/kernel_op_list.h"

namespace kachi {

class ModelOps {
 public:
  virtual ~ModelOps() = default;

  // "cpu" or "cuda".
  virtual absl::string_view name() const = 0;
  // True when Allocate* returns device memory (collectives then need a device-buffer backend such as NCCL).
  virtual bool device_memory() const = 0;

  // Zero-filled memory of `count` elements; Release frees what Allocate* returned (nullptr is ignored).
  virtual float* AllocateFloats(int64_t count) = 0;
  virtual int32_t* AllocateInts(int64_t count) = 0;
  Bf16* AllocateBf16(int64_t count) { return static_cast<Bf16*>(AllocateBytes(count * sizeof(Bf16))); }
  virtual void Release(void* data) = 0;
  // Host memory -> this ModelOps' memory and back (`bytes` bytes).
  virtual absl::Status Upload(void* dst, const void* host_src, size_t bytes) = 0;
  virtual absl::Status Download(void* host_dst, const void* src, size_t bytes) = 0;
  // Waits for all queued work.
  virtual absl::Status Synchronize() = 0;
  // A marker after all work queued so far on the compute stream, for Communicator::WaitEvent (so a collective can
  // follow device work without a host sync): a pooled cudaEvent_t as void* for the CUDA ops, nullptr for host
  // memory (every op is complete on return). Give it back with ReleaseEvent once nothing waits on it any more.
  virtual absl::StatusOr<void*> RecordEvent() = 0;
  // Returns an event from RecordEvent to the pool (nullptr is ignored).
  virtual void ReleaseEvent(void* event) = 0;

  // Checkpoint snapshots (copy the state aside on the training thread, download it on the writer's thread):
  // `bytes` bytes of this ops' memory, zero-filled, freed by Release.
  virtual void* AllocateBytes(size_t bytes) = 0;
  // dst = src (`bytes` bytes, both in this ops' memory), queued after all earlier work (the CPU ops: done at return).
  virtual absl::Status CopyAsync(void* dst, const void* src, size_t bytes) = 0;
  // Page-locked host memory (plain host memory for the CPU ops) for fast downloads, freed by ReleaseHost.
  virtual void* AllocateHost(size_t bytes) = 0;
  virtual void ReleaseHost(void* data) = 0;
  // Copies `bytes` bytes from this ops' memory to host memory on a private stream and waits for that copy only;
  // may be called from any thread while training goes on. The source must be complete (e.g. CopyAsync followed
  // by Synchronize on the training thread).
  virtual absl::Status DownloadConcurrent(void* host_dst, const void* src, size_t bytes) = 0;

  // Attention keeps backend-specific statistics between forward and backward (the CPU keeps the probabilities,
  // [B, NH, T, T]; flash attention keeps a logsumexp per row) and may need scratch in backward: their sizes.
  virtual int64_t AttentionStatsSize(int64_t batch, int64_t heads, int64_t seq_len) const = 0;
  virtual int64_t AttentionScratchSize(int64_t batch, int64_t heads, int64_t seq_len) const = 0;

  // The kernel ops, declared from the one list in kernel_op_list.h (see the comments there and the CPU twins in
  // kernels/*.h for the math): the fp32 ops are pure; the bf16 ops default to the host emulation
  // (bf16_emulation.cc), the composed fused ops to their unfused parts (fused_op_defaults.cc).
#define KACHI_DECLARE_PURE_OP(R, Name, Params, Args, Extents) virtual R Name Params = 0;
#define KACHI_DECLARE_DEFAULT_OP(R, Name, Params, Args, Extents) virtual R Name Params;
  KACHI_KERNEL_OPS(KACHI_DECLARE_PURE_OP, float)
  KACHI_FP32_KERNEL_OPS(KACHI_DECLARE_PURE_OP)
  KACHI_COMPOSED_KERNEL_OPS(KACHI_DECLARE_DEFAULT_OP, float)
  KACHI_KERNEL_OPS(KACHI_DECLARE_DEFAULT_OP, Bf16)
  KACHI_BF16_KERNEL_OPS(KACHI_DECLARE_DEFAULT_OP)
  KACHI_COMPOSED_KERNEL_OPS(KACHI_DECLARE_DEFAULT_OP, Bf16)
#undef KACHI_DECLARE_PURE_OP
#undef KACHI_DECLARE_DEFAULT_OP
};

// The process-wide CPU ModelOps: the reference kernels on host memory.
ModelOps& CpuModelOps();

// An owned array in a ModelOps' memory.
template <typename T>
class OpsBuffer {
 public:
  OpsBuffer() = default;
  OpsBuffer(ModelOps* ops, int64_t count) { Reset(ops, count); }
  OpsBuffer(const OpsBuffer&) = delete;
  OpsBuffer& operator=(const OpsBuffer&) = delete;
  OpsBuffer(OpsBuffer&& other) noexcept { *this = std::move(other); }
  OpsBuffer& operator=(OpsBuffer&& other) noexcept {
    std::swap(ops_, other.ops_);
    std::swap(data_, other.data_);
    std::swap(size_, other.size_);
    return *this;
  }
  ~OpsBuffer() { Reset(nullptr, 0); }

  // Frees the old array and allocates `count` zeroed elements (none when ops is null or count is 0).
  void Reset(ModelOps* ops, int64_t count) {
    if (ops_ != nullptr) ops_->Release(data_);
    ops_ = ops;
    size_ = count;
    data_ = nullptr;
    if (ops != nullptr && count > 0) {
      if constexpr (std::is_same_v<T, int32_t>) {
        data_ = ops->AllocateInts(count);
      } else if constexpr (std::is_same_v<T, Bf16>) {
        data_ = ops->AllocateBf16(count);
      } else {
        data_ = ops->AllocateFloats(count);
      }
    }
  }
  T* data() { return data_; }
  const T* data() const { return data_; }
  // Element access: only for host memory (a ModelOps whose device_memory() is false).
  T& operator[](int64_t i) { return data_[i]; }
  const T& operator[](int64_t i) const { return data_[i]; }
  int64_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

 private:
  ModelOps* ops_ = nullptr;
  T* data_ = nullptr;
  int64_t size_ = 0;
};

}  // namespace kachi

#endif  // KACHI_RUNTIME_MODEL_MODEL_OPS_H_
