// CUDA twin of kernels/attention.h (namespace kachi::cuda): causal flash attention, forward and backward, on the
// same packed layouts as the CPU reference, without ever storing the [T, T] probability matrix.
//
// Layouts (NH = local heads, HS = head size, which must be 64):
//   qkv  [batch, seq_len, 3 * NH * HS]: all query heads, then all key heads, then all value heads (as on the CPU).
//   out  [batch, seq_len, NH * HS].
//   logsumexp [batch, NH, seq_len] (float): natural log of each row's softmax denominator, log(sum_j exp(s_ij))
//       with s_ij = q_i . k_j / sqrt(HS); the forward writes it, the backward recomputes probabilities from it.
//   dqkv [batch, seq_len, 3 * NH * HS]: the backward ACCUMULATES (+=) into it, like the CPU twin.
//
// Precision: __nv_bfloat16 runs on the tensor cores (mma.sync m16n8k16, fp32 accumulation, fp32 softmax statistics;
// probabilities are rounded to bf16 before multiplying the values, as in FlashAttention-2). float runs a plain
// fp32 path (no tensor cores) that matches the CPU twin to float rounding; it is for checks, not for speed.
// Every kernel is deterministic: each output element is owned and written by exactly one thread.
#ifndef KACHI_KERNELS_ATTENTION_CUDA_H_
#define KACHI_KERNELS_ATTENTION_CUDA_H_

#include <cuda_runtime.h>

#include <cstdint>

#include "absl/status/status.h"

namespace kachi::cuda {

// Writes out and logsumexp (layouts above) from qkv on `stream`. T is float or __nv_bfloat16. Errors: head_size
// other than 64, non-positive sizes, pointers not 16-byte aligned, or a failed launch.
template <typename T>
absl::Status AttentionForward(T* out, float* logsumexp, const T* qkv, int64_t batch, int64_t seq_len,
                              int64_t num_heads, int64_t head_size, cudaStream_t stream);

// The bf16 forward with an explicit query tile: 64 rows (4 warps) or 128 rows (8 warps) per block. AttentionForward
// uses kDefaultForwardQueryRows; the benchmark compares both. Any other value is an InvalidArgument error.
absl::Status AttentionForwardBf16WithQueryTile(int query_tile_rows, void* out, float* logsumexp, const void* qkv,
                                               int64_t batch, int64_t seq_len, int64_t num_heads,
                                               int64_t head_size, cudaStream_t stream);

// Query rows per block used by AttentionForward<__nv_bfloat16>.
inline constexpr int kDefaultForwardQueryRows = 128;

// Floats of scratch AttentionBackward needs: one per (batch, head, position) for D = rowsum(dout * out).
inline int64_t AttentionBackwardScratchFloats(int64_t batch, int64_t seq_len, int64_t num_heads) {
  return batch * num_heads * seq_len;
}

// Accumulates (+=) into dqkv the gradient of AttentionForward given dout [batch, seq_len, NH * HS], the forward's
// qkv, out and logsumexp, in the FlashAttention-2 way: D = rowsum(dout * out) into `scratch`
// (AttentionBackwardScratchFloats floats), then one pass where each block owns a key/value tile and loops over
// query tiles (dK, dV), and one where each block owns a query tile and loops over key/value tiles (dQ). Errors as
// for AttentionForward.
template <typename T>
absl::Status AttentionBackward(T* dqkv, const T* dout, const T* qkv, const T* out, const float* logsumexp,
                               float* scratch, int64_t batch, int64_t seq_len, int64_t num_heads, int64_t head_size,
                               cudaStream_t stream);

}  // namespace kachi::cuda

#endif  // KACHI_KERNELS_ATTENTION_CUDA_H_
