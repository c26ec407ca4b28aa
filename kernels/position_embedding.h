// Learned position embedding added in place to the token embedding (GPT-2's wpe). Replicated on every
// tensor-parallel rank (the caller all-reduces dwpe over data parallelism only, like any other weight gradient).
#ifndef KACHI_KERNELS_POSITION_EMBEDDING_H_
#define KACHI_KERNELS_POSITION_EMBEDDING_H_

#include <cstdint>

namespace kachi::cpu {

// out[b, t, :] += wpe[t, :] for out: [batch, seq_len, channels], wpe: [>= seq_len, channels].
template <typename T>
void PositionEmbeddingForward(T* out, const T* wpe, int64_t batch, int64_t seq_len, int64_t channels);

// dwpe[t, :] += sum_b dout[b, t, :], summed in order b = 0, 1, ...
template <typename T>
void PositionEmbeddingBackward(T* dwpe, const T* dout, int64_t batch, int64_t seq_len, int64_t channels);

}  // namespace kachi::cpu

#endif  // KACHI_KERNELS_POSITION_EMBEDDING_H_
