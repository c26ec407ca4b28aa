// Tests for kachi::cpu::SumOfSquares: float and double inputs against a plain double loop, at lengths with and
// without a lane tail.
#include "kernels/sum_of_squares.h"

#include <vector>

#include "gtest/gtest.h"
#include "tests/kernels/kernel_test_util.h"

namespace kachi::testing {
namespace {

// sum_i x[i]^2 in double, one element at a time.
template <typename T>
double PlainSumOfSquares(const std::vector<T>& x) {
  double sum = 0;
  for (T value : x) sum += static_cast<double>(value) * static_cast<double>(value);
  return sum;
}

TEST(SumOfSquaresTest, MatchesPlainLoopForFloatAndDouble) {
  for (int64_t n : {1, 7, 8, 1001, 65536}) {
    const auto values = RandomValues(n, 100 + n, -3.0, 3.0);
    const double expected = PlainSumOfSquares(values);
    EXPECT_NEAR(cpu::SumOfSquares(values.data(), n), expected, 1e-12 * expected) << "n=" << n;
    const auto values_f = testing::Cast<float>(values);
    // Float inputs are squared and summed in double: only the input rounding differs from the double case.
    EXPECT_NEAR(cpu::SumOfSquares(values_f.data(), n), PlainSumOfSquares(values_f), 1e-12 * expected) << "n=" << n;
  }
}

TEST(SumOfSquaresTest, EmptyIsZero) {
  const std::vector<float> none;
  EXPECT_EQ(cpu::SumOfSquares(none.data(), 0), 0.0);
}

}  // namespace
}  // namespace kachi::testing
