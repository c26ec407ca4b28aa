// CPU reference sum of squares (see sum_of_squares.h).
#include "kernels/sum_of_squares.h"

#include "kernels/vector_ops.h"

namespace kachi::cpu {

template <typename T>
double SumOfSquares(const T* x, int64_t n) {
  return internal::LaneSum<double>(n, [x](int64_t i) {
    const double value = static_cast<double>(x[i]);
    return value * value;
  });
}

template double SumOfSquares<float>(const float*, int64_t);
template double SumOfSquares<double>(const double*, int64_t);

}  // namespace kachi::cpu
