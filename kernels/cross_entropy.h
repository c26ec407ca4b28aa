// Softmax cross-entropy over the vocabulary, in pieces so a vocab-parallel (tensor-parallel) caller can reduce
// across ranks between them. Each rank holds logits [rows, cols] for vocabulary ids [vocab_start, vocab_start +
// valid_cols); columns at or beyond valid_cols are padding and are ignored.
//
// Tensor-parallel use (one all-reduce per arrow):
//   CrossEntropyRowMax        -> all-reduce max   -> global row_max
//   CrossEntropyRowSumExp     -> all-reduce sum   -> global row_sum     (with the global row_max)
//   CrossEntropyTargetLogit   -> all-reduce sum   -> target_logit       (exactly one rank owns each target)
//   CrossEntropyLoss          (every rank, identical result)
//   CrossEntropyBackward      (local shard of dlogits, from the global row_max and row_sum)
// A single-rank caller calls the pieces in a row with vocab_start = 0, or just CrossEntropyForward.
#ifndef KACHI_KERNELS_CROSS_ENTROPY_H_
#define KACHI_KERNELS_CROSS_ENTROPY_H_

#include <cstdint>

namespace kachi::cpu {

// row_max[n] = max_{c < valid_cols} logits[n, c]; -infinity when valid_cols == 0.
template <typename T>
void CrossEntropyRowMax(T* row_max, const T* logits, int64_t rows, int64_t cols, int64_t valid_cols);

// row_sum[n] = sum_{c < valid_cols} exp(logits[n, c] - row_max[n]), where row_max is the max over ALL shards.
template <typename T>
void CrossEntropyRowSumExp(T* row_sum, const T* logits, const T* row_max, int64_t rows, int64_t cols,
                           int64_t valid_cols);

// target_logit[n] = logits[n, targets[n] - vocab_start] when targets[n] lies in [vocab_start, vocab_start +
// valid_cols) (this shard owns it), else 0.
template <typename T>
void CrossEntropyTargetLogit(T* target_logit, const T* logits, const int32_t* targets, int64_t rows, int64_t cols,
                             int64_t valid_cols, int64_t vocab_start);

// loss[n] = log(row_sum[n]) + row_max[n] - target_logit[n] (all three already reduced over shards).
template <typename T>
void CrossEntropyLoss(T* loss, const T* row_max, const T* row_sum, const T* target_logit, int64_t rows);

// dlogits[n, c] = (exp(logits[n, c] - row_max[n]) / row_sum[n] - [vocab_start + c == targets[n]]) * dloss[n]
// for c < valid_cols and 0 for padding columns. Unlike the other backward kernels this WRITES dlogits (it is
// where the gradient starts, so nothing is there to accumulate into); dlogits may alias logits (in place).
template <typename T>
void CrossEntropyBackward(T* dlogits, const T* logits, const T* row_max, const T* row_sum, const int32_t* targets,
                          const T* dloss, int64_t rows, int64_t cols, int64_t valid_cols, int64_t vocab_start);

// Single-rank convenience: the pieces above in a row (vocab_start = 0). Writes loss [rows] and keeps row_max and
// row_sum [rows] for CrossEntropyBackward (called with vocab_start = 0).
template <typename T>
void CrossEntropyForward(T* loss, T* row_max, T* row_sum, const T* logits, const int32_t* targets, int64_t rows,
                         int64_t cols, int64_t valid_cols);

}  // namespace kachi::cpu

#endif  // KACHI_KERNELS_CROSS_ENTROPY_H_
