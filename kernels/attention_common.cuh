// Pieces shared by the flash attention CUDA files (kernels/attention_*.cu): the head size, CUDA errors and argument
// checks into absl::Status, grid sizing, the block/head indexing every kernel starts with (device side), and the
// public AttentionForward / AttentionBackward templates, which dispatch on the element type to ForwardForType /
// BackwardForType overloads defined beside their kernels. Included by .cu files only.
#ifndef KACHI_KERNELS_ATTENTION_COMMON_CUH_
#define KACHI_KERNELS_ATTENTION_COMMON_CUH_

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "kernels/attention_cuda.h"
#include "kernels/base/cuda_status.h"

namespace kachi::cuda::attention_internal {

inline constexpr int kHeadSize = 64;  // the only head size supported
inline constexpr float kLog2e = 1.4426950408889634f;

using bf16 = __nv_bfloat16;

// CUDA errors as absl::Status (kernels/base/cuda_status.h); LastLaunchStatus is the status of the last launch.
using ::kachi::base::CudaStatus;
inline absl::Status LastLaunchStatus(const char* what) { return ::kachi::base::LaunchStatus(what); }

// Checks sizes and alignment shared by every entry point.
inline absl::Status CheckShapes(const char* op, int64_t batch, int64_t seq_len, int64_t num_heads,
                                int64_t head_size) {
  if (head_size != kHeadSize) {
    return absl::InvalidArgumentError(
        absl::StrCat(op, ": head_size must be 64 (the only size these kernels support), got ", head_size));
  }
  if (batch <= 0 || seq_len <= 0 || num_heads <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(op, ": batch, seq_len and num_heads must be positive, got ", batch,
                                                   ", ", seq_len, ", ", num_heads));
  }
  if (seq_len > (int64_t{1} << 24) || batch * num_heads > (int64_t{1} << 30)) {
    return absl::InvalidArgumentError(absl::StrCat(op, ": seq_len ", seq_len, " or batch*num_heads ",
                                                   batch * num_heads, " exceeds the grid limits (2^24, 2^30)"));
  }
  return absl::OkStatus();
}

// Error unless `pointer` is 16-byte aligned (the kernels copy 16-byte chunks).
inline absl::Status CheckAligned(const char* op, const char* name, const void* pointer) {
  if (reinterpret_cast<uintptr_t>(pointer) % 16 != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(op, ": ", name, " must be 16-byte aligned, got address ", reinterpret_cast<uintptr_t>(pointer)));
  }
  return absl::OkStatus();
}

// Query tiles of `rows` rows covering seq_len.
inline unsigned TileCount(int64_t seq_len, int rows) { return static_cast<unsigned>((seq_len + rows - 1) / rows); }

// What a block of the attention kernels works on: blockIdx.x runs over batch * num_heads, blockIdx.y over tiles of
// `tile_rows` rows (in order, or last first: the causal tiles with the most work start first). Of this (batch,
// head), the rows of the packed qkv [batch, seq_len, 3, num_heads, 64] start at query/key/value and lie row_stride
// apart; out-shaped tensors [batch, seq_len, num_heads, 64] (out, dout, ...) lie out_stride apart, row 0 at
// OutRows(tensor); statistics [batch * num_heads, seq_len] (logsumexp, row dot) start at StatRows(statistic).
template <typename T>
struct HeadTile {
  __device__ __forceinline__ HeadTile(const T* qkv, int tile_rows, bool last_first, int seq_len, int num_heads)
      : batch_head(blockIdx.x),
        batch(batch_head / num_heads),
        head(batch_head % num_heads),
        start(static_cast<int>((last_first ? gridDim.y - 1 - blockIdx.y : blockIdx.y) * tile_rows)),
        row_stride(3LL * num_heads * kHeadSize),
        out_stride(static_cast<int64_t>(num_heads) * kHeadSize),
        batch_offset(static_cast<int64_t>(batch) * seq_len),
        stat_offset(static_cast<int64_t>(batch_head) * seq_len),
        query(QkvRows(qkv)),
        key(query + num_heads * kHeadSize),
        value(key + num_heads * kHeadSize) {}
  // Row 0 of this (batch, head)'s queries in a qkv-shaped tensor (qkv, dqkv).
  template <typename U>
  __device__ __forceinline__ U* QkvRows(U* tensor) const {
    return tensor + batch_offset * row_stride + head * kHeadSize;
  }
  // Row 0 of this (batch, head) in an out-shaped tensor.
  template <typename U>
  __device__ __forceinline__ U* OutRows(U* tensor) const {
    return tensor + batch_offset * out_stride + head * kHeadSize;
  }
  // Position 0 of this (batch, head) in a statistic.
  template <typename U>
  __device__ __forceinline__ U* StatRows(U* statistic) const {
    return statistic + stat_offset;
  }
  int batch_head;  // blockIdx.x
  int batch;
  int head;
  int start;             // first row of this block's tile
  int64_t row_stride;    // elements between positions in qkv
  int64_t out_stride;    // elements between positions in out-shaped tensors
  int64_t batch_offset;  // first position of the batch: batch * seq_len
  int64_t stat_offset;   // batch_head * seq_len
  const T* query;
  const T* key;
  const T* value;
};

// The bf16 forward (attention_forward.cu): AttentionForwardBf16WithQueryTile with kDefaultForwardQueryRows.
absl::Status ForwardForType(bf16* out, float* logsumexp, const bf16* qkv, int64_t batch, int64_t seq_len,
                            int64_t num_heads, int64_t head_size, cudaStream_t stream);

// The fp32 check forward (attention_fp32.cu).
absl::Status ForwardForType(float* out, float* logsumexp, const float* qkv, int64_t batch, int64_t seq_len,
                            int64_t num_heads, int64_t head_size, cudaStream_t stream);

// The bf16 backward (attention_backward.cu).
absl::Status BackwardForType(bf16* dqkv, const bf16* dout, const bf16* qkv, const bf16* out,
                             const float* logsumexp, float* scratch, int64_t batch, int64_t seq_len,
                             int64_t num_heads, int64_t head_size, cudaStream_t stream);

// The fp32 check backward (attention_fp32.cu).
absl::Status BackwardForType(float* dqkv, const float* dout, const float* qkv, const float* out,
                             const float* logsumexp, float* scratch, int64_t batch, int64_t seq_len,
                             int64_t num_heads, int64_t head_size, cudaStream_t stream);

}  // namespace kachi::cuda::attention_internal

namespace kachi::cuda {

// Declared in attention_cuda.h; each element type is instantiated in the file that defines its overload.
template <typename T>
absl::Status AttentionForward(T* out, float* logsumexp, const T* qkv, int64_t batch, int64_t seq_len,
                              int64_t num_heads, int64_t head_size, cudaStream_t stream) {
  return attention_internal::ForwardForType(out, logsumexp, qkv, batch, seq_len, num_heads, head_size, stream);
}

// Declared in attention_cuda.h; each element type is instantiated in the file that defines its overload.
template <typename T>
absl::Status AttentionBackward(T* dqkv, const T* dout, const T* qkv, const T* out, const float* logsumexp,
                               float* scratch, int64_t batch, int64_t seq_len, int64_t num_heads, int64_t head_size,
                               cudaStream_t stream) {
  return attention_internal::BackwardForType(dqkv, dout, qkv, out, logsumexp, scratch, batch, seq_len, num_heads,
                                             head_size, stream);
}

}  // namespace kachi::cuda

#endif  // KACHI_KERNELS_ATTENTION_COMMON_CUH_
