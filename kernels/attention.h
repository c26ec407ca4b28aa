// Causal multi-head self-attention on the heads this rank holds (Megatron tensor parallelism splits heads across
// ranks; each rank runs this on its local heads with no communication).
//
// Layouts (NH = local heads, HS = head size):
//   qkv [batch, seq_len, 3 * NH * HS]: along the last dim all query heads, then all key heads, then all value
//       heads; head h's query starts at h * HS, its key at NH * HS + h * HS, its value at 2 * NH * HS + h * HS.
//   out [batch, seq_len, NH * HS]: head h's output at h * HS (the input layout of the projection matmul).
//   att [batch, NH, seq_len, seq_len]: softmax probabilities, row t holds weights over positions 0..t and zeros
//       after t; kept from the forward for the backward.
// Scores are scaled by 1 / sqrt(HS).
#ifndef KACHI_KERNELS_ATTENTION_H_
#define KACHI_KERNELS_ATTENTION_H_

#include <cstdint>

namespace kachi::cpu {

// Writes out and att (layouts above) from qkv.
template <typename T>
void AttentionForward(T* out, T* att, const T* qkv, int64_t batch, int64_t seq_len, int64_t num_heads,
                      int64_t head_size);

// Accumulates (+=) into dqkv [batch, seq_len, 3 * NH * HS] the gradient of AttentionForward, given dout and the
// forward's qkv and att.
template <typename T>
void AttentionBackward(T* dqkv, const T* dout, const T* qkv, const T* att, int64_t batch, int64_t seq_len,
                       int64_t num_heads, int64_t head_size);

}  // namespace kachi::cpu

#endif  // KACHI_KERNELS_ATTENTION_H_
