// CUDA twin of kernels/token_embedding.h: vocab-sharded token embedding lookup and a deterministic backward.
//
// Determinism rule of the backward: the owned tokens' local rows are sorted with a stable radix sort (cub), so
// the positions of each row come out in increasing n; one thread owns each (row, channel vector) and adds those
// positions' gradients in that order, in fp32, starting from the value already in dtable, then stores once. No
// atomics: the result is the same on every run and, for fp32, bit-identical to the CPU twin's sequential loop.
#ifndef KACHI_KERNELS_TOKEN_EMBEDDING_CUDA_H_
#define KACHI_KERNELS_TOKEN_EMBEDDING_CUDA_H_

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace kachi::cuda {

// out[n, :] = table[tokens[n] - vocab_start, :] for owned tokens, zeros otherwise (written); on `stream`.
// tokens: device int32 [num_tokens]; table: [vocab_rows, channels]; out: [num_tokens, channels].
template <typename T>
absl::Status TokenEmbeddingForward(T* out, const int32_t* tokens, const T* table, int64_t num_tokens, int64_t channels,
                                   int64_t vocab_start, int64_t vocab_rows, cudaStream_t stream);

// Device scratch bytes TokenEmbeddingBackward needs for `num_tokens` tokens on a shard of `vocab_rows` rows.
absl::StatusOr<size_t> TokenEmbeddingBackwardWorkspaceBytes(int64_t num_tokens, int64_t vocab_rows);

// dtable[tokens[n] - vocab_start, :] += dout[n, :] for every owned token (accumulated, deterministic: see above),
// using `workspace` (device memory, 16-byte aligned, at least TokenEmbeddingBackwardWorkspaceBytes bytes).
template <typename T>
absl::Status TokenEmbeddingBackward(T* dtable, const T* dout, const int32_t* tokens, int64_t num_tokens,
                                    int64_t channels, int64_t vocab_start, int64_t vocab_rows, void* workspace,
                                    size_t workspace_bytes, cudaStream_t stream);

// Same, with the workspace allocated and freed stream-ordered (cudaMallocAsync / cudaFreeAsync) on `stream`.
template <typename T>
absl::Status TokenEmbeddingBackward(T* dtable, const T* dout, const int32_t* tokens, int64_t num_tokens,
                                    int64_t channels, int64_t vocab_start, int64_t vocab_rows, cudaStream_t stream);

}  // namespace kachi::cuda

#endif  // KACHI_KERNELS_TOKEN_EMBEDDING_CUDA_H_
