// Sum of squares of a tensor, accumulated in double: the building block of the global gradient norm used for
// clipping (each rank sums its local gradients, the caller all-reduces and takes the square root).
#ifndef KACHI_KERNELS_SUM_OF_SQUARES_H_
#define KACHI_KERNELS_SUM_OF_SQUARES_H_

#include <cstdint>

namespace kachi::cpu {

// sum_i x[i]^2 over [0, n), each term and the sum in double (fixed lane order, deterministic).
template <typename T>
double SumOfSquares(const T* x, int64_t n);

}  // namespace kachi::cpu

#endif  // KACHI_KERNELS_SUM_OF_SQUARES_H_
