// Small inline vector helpers shared by the CPU reference kernels: a dot product with fixed-order lane partial
// sums (so the compiler vectorizes it without -ffast-math and results stay deterministic) and axpy.
#ifndef KACHI_KERNELS_VECTOR_OPS_H_
#define KACHI_KERNELS_VECTOR_OPS_H_

#include <cstdint>

namespace kachi::cpu::internal {

// Number of independent partial sums a reduction keeps; a multiple of every SIMD width we target.
inline constexpr int kLanes = 8;

// Sums the kLanes partial sums in a fixed pairwise order.
template <typename T>
inline T SumLanes(const T (&acc)[kLanes]) {
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

// sum_k term(k) for k in [0, n): lane k % kLanes accumulates term(k), the tail is added last. `term` must be
// cheap and side-effect free (it is inlined into the vectorized loop).
template <typename T, typename Term>
inline T LaneSum(int64_t n, Term&& term) {
  T acc[kLanes] = {};
  int64_t k = 0;
  for (; k + kLanes <= n; k += kLanes) {
    for (int l = 0; l < kLanes; ++l) acc[l] += term(k + l);
  }
  T tail = 0;
  for (; k < n; ++k) tail += term(k);
  return SumLanes(acc) + tail;
}

// sum_k a[k] * b[k] over n elements (fixed lane order, see LaneSum).
template <typename T>
inline T Dot(const T* a, const T* b, int64_t n) {
  return LaneSum<T>(n, [a, b](int64_t k) { return a[k] * b[k]; });
}

// sum_k x[k] over n elements (fixed lane order, see LaneSum).
template <typename T>
inline T Sum(const T* x, int64_t n) {
  return LaneSum<T>(n, [x](int64_t k) { return x[k]; });
}

// y[k] += alpha * x[k] for k in [0, n).
template <typename T>
inline void Axpy(T* __restrict y, T alpha, const T* __restrict x, int64_t n) {
  for (int64_t k = 0; k < n; ++k) y[k] += alpha * x[k];
}

}  // namespace kachi::cpu::internal

#endif  // KACHI_KERNELS_VECTOR_OPS_H_
