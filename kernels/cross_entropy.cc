// CPU reference for the vocab-parallel softmax cross-entropy pieces (see cross_entropy.h).
#include "kernels/cross_entropy.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "kernels/vector_ops.h"

namespace kachi::cpu {
namespace {

// Column of this shard holding `target`, or -1 when another shard owns it.
int64_t LocalColumn(int32_t target, int64_t valid_cols, int64_t vocab_start) {
  const int64_t col = static_cast<int64_t>(target) - vocab_start;
  return (col >= 0 && col < valid_cols) ? col : -1;
}

// max_k x[k] over n elements with kLanes partial maxima; -infinity for n == 0.
template <typename T>
T Max(const T* x, int64_t n) {
  constexpr int kLanes = internal::kLanes;
  T acc[kLanes];
  std::fill(acc, acc + kLanes, -std::numeric_limits<T>::infinity());
  int64_t k = 0;
  for (; k + kLanes <= n; k += kLanes) {
    for (int l = 0; l < kLanes; ++l) acc[l] = acc[l] > x[k + l] ? acc[l] : x[k + l];
  }
  for (; k < n; ++k) acc[0] = acc[0] > x[k] ? acc[0] : x[k];
  return *std::max_element(acc, acc + kLanes);
}

}  // namespace

template <typename T>
void CrossEntropyRowMax(T* row_max, const T* logits, int64_t rows, int64_t cols, int64_t valid_cols) {
  for (int64_t n = 0; n < rows; ++n) row_max[n] = Max(logits + n * cols, valid_cols);
}

template <typename T>
void CrossEntropyRowSumExp(T* row_sum, const T* logits, const T* row_max, int64_t rows, int64_t cols,
                           int64_t valid_cols) {
  for (int64_t n = 0; n < rows; ++n) {
    const T* row = logits + n * cols;
    const T max = row_max[n];
    row_sum[n] = internal::LaneSum<T>(valid_cols, [row, max](int64_t c) { return std::exp(row[c] - max); });
  }
}

template <typename T>
void CrossEntropyTargetLogit(T* target_logit, const T* logits, const int32_t* targets, int64_t rows, int64_t cols,
                             int64_t valid_cols, int64_t vocab_start) {
  for (int64_t n = 0; n < rows; ++n) {
    const int64_t col = LocalColumn(targets[n], valid_cols, vocab_start);
    target_logit[n] = col >= 0 ? logits[n * cols + col] : T(0);
  }
}

template <typename T>
void CrossEntropyLoss(T* loss, const T* row_max, const T* row_sum, const T* target_logit, int64_t rows) {
  for (int64_t n = 0; n < rows; ++n) loss[n] = std::log(row_sum[n]) + row_max[n] - target_logit[n];
}

template <typename T>
void CrossEntropyBackward(T* dlogits, const T* logits, const T* row_max, const T* row_sum, const int32_t* targets,
                          const T* dloss, int64_t rows, int64_t cols, int64_t valid_cols, int64_t vocab_start) {
  for (int64_t n = 0; n < rows; ++n) {
    const T* row = logits + n * cols;
    T* drow = dlogits + n * cols;
    const T max = row_max[n];
    const T scale = dloss[n] / row_sum[n];
    for (int64_t c = 0; c < valid_cols; ++c) drow[c] = std::exp(row[c] - max) * scale;
    std::fill(drow + valid_cols, drow + cols, T(0));
    const int64_t target_col = LocalColumn(targets[n], valid_cols, vocab_start);
    if (target_col >= 0) drow[target_col] -= dloss[n];
  }
}

template <typename T>
void CrossEntropyForward(T* loss, T* row_max, T* row_sum, const T* logits, const int32_t* targets, int64_t rows,
                         int64_t cols, int64_t valid_cols) {
  std::vector<T> target_logit(rows);
  CrossEntropyRowMax(row_max, logits, rows, cols, valid_cols);
  CrossEntropyRowSumExp(row_sum, logits, row_max, rows, cols, valid_cols);
  CrossEntropyTargetLogit(target_logit.data(), logits, targets, rows, cols, valid_cols, /*vocab_start=*/0);
  CrossEntropyLoss(loss, row_max, row_sum, target_logit.data(), rows);
}

#define KACHI_INSTANTIATE_CROSS_ENTROPY(T)                                                                            \
  template void CrossEntropyRowMax<T>(T*, const T*, int64_t, int64_t, int64_t);                                       \
  template void CrossEntropyRowSumExp<T>(T*, const T*, const T*, int64_t, int64_t, int64_t);                          \
  template void CrossEntropyTargetLogit<T>(T*, const T*, const int32_t*, int64_t, int64_t, int64_t, int64_t);         \
  template void CrossEntropyLoss<T>(T*, const T*, const T*, const T*, int64_t);                                       \
  template void CrossEntropyBackward<T>(T*, const T*, const T*, const T*, const int32_t*, const T*, int64_t, int64_t, \
                                        int64_t, int64_t);                                                            \
  template void CrossEntropyForward<T>(T*, T*, T*, const T*, const int32_t*, int64_t, int64_t, int64_t);

KACHI_INSTANTIATE_CROSS_ENTROPY(float)
KACHI_INSTANTIATE_CROSS_ENTROPY(double)

#undef KACHI_INSTANTIATE_CROSS_ENTROPY

}  // namespace kachi::cpu
