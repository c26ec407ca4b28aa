// CUDA twin of kernels/cross_entropy.h: the vocab-parallel softmax cross-entropy pieces on a shard of logits
// [rows, cols] (vocabulary ids [vocab_start, vocab_start + valid_cols); columns from valid_cols on are padding).
// Same math and tensor-parallel call order as the CPU twin; logits (and dlogits) are float or __nv_bfloat16, the
// per-row statistics (row_max, row_sum, target_logit, loss, dloss) are float. One block per row, one pass over the
// row per piece, 16-byte loads; CrossEntropyForward finds max and sum-of-exp in a single online pass.
// All pointers are device pointers; work is enqueued on `stream`.
#ifndef KACHI_KERNELS_CROSS_ENTROPY_CUDA_H_
#define KACHI_KERNELS_CROSS_ENTROPY_CUDA_H_

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "absl/status/status.h"

namespace kachi::cuda {

// row_max[n] = max_{c < valid_cols} logits[n, c]; -infinity when valid_cols == 0.
template <typename T>
absl::Status CrossEntropyRowMax(float* row_max, const T* logits, int64_t rows, int64_t cols, int64_t valid_cols,
                                cudaStream_t stream);

// row_sum[n] = sum_{c < valid_cols} exp(logits[n, c] - row_max[n]), row_max being the max over ALL shards.
template <typename T>
absl::Status CrossEntropyRowSumExp(float* row_sum, const T* logits, const float* row_max, int64_t rows, int64_t cols,
                                   int64_t valid_cols, cudaStream_t stream);

// target_logit[n] = logits[n, targets[n] - vocab_start] when this shard owns targets[n], else 0.
template <typename T>
absl::Status CrossEntropyTargetLogit(float* target_logit, const T* logits, const int32_t* targets, int64_t rows,
                                     int64_t cols, int64_t valid_cols, int64_t vocab_start, cudaStream_t stream);

// loss[n] = log(row_sum[n]) + row_max[n] - target_logit[n] (all three already reduced over shards).
absl::Status CrossEntropyLoss(float* loss, const float* row_max, const float* row_sum, const float* target_logit,
                              int64_t rows, cudaStream_t stream);

// dlogits[n, c] = (exp(logits[n, c] - row_max[n]) / row_sum[n] - [vocab_start + c == targets[n]]) * dloss[n] for
// c < valid_cols, 0 for padding columns. WRITES dlogits; dlogits may alias logits (in place: the probabilities
// are never stored separately).
template <typename T>
absl::Status CrossEntropyBackward(T* dlogits, const T* logits, const float* row_max, const float* row_sum,
                                  const int32_t* targets, const float* dloss, int64_t rows, int64_t cols,
                                  int64_t valid_cols, int64_t vocab_start, cudaStream_t stream);

// Single-rank forward (vocab_start = 0) in one pass over the logits (online max and sum-of-exp): writes loss, and
// row_max and row_sum for CrossEntropyBackward.
template <typename T>
absl::Status CrossEntropyForward(float* loss, float* row_max, float* row_sum, const T* logits,
                                 const int32_t* targets, int64_t rows, int64_t cols, int64_t valid_cols,
                                 cudaStream_t stream);

}  // namespace kachi::cuda

#endif  // KACHI_KERNELS_CROSS_ENTROPY_CUDA_H_
