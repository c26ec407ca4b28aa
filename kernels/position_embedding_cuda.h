// CUDA twin of kernels/position_embedding.h: the learned position embedding added in place to the token
// embedding, and its deterministic backward (each (t, channel) output summed by one thread over b = 0, 1, ... in
// order, starting from the value already in dwpe, exactly as the CPU twin orders it).
#ifndef KACHI_KERNELS_POSITION_EMBEDDING_CUDA_H_
#define KACHI_KERNELS_POSITION_EMBEDDING_CUDA_H_

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "absl/status/status.h"

namespace kachi::cuda {

// out[b, t, :] += wpe[t, :] for out: [batch, seq_len, channels], wpe: [>= seq_len, channels]; on `stream`.
template <typename T>
absl::Status PositionEmbeddingForward(T* out, const T* wpe, int64_t batch, int64_t seq_len, int64_t channels,
                                      cudaStream_t stream);

// dwpe[t, :] += sum_b dout[b, t, :], summed in order b = 0, 1, ... in fp32 and rounded once; on `stream`.
template <typename T>
absl::Status PositionEmbeddingBackward(T* dwpe, const T* dout, int64_t batch, int64_t seq_len, int64_t channels,
                                       cudaStream_t stream);

}  // namespace kachi::cuda

#endif  // KACHI_KERNELS_POSITION_EMBEDDING_CUDA_H_
