// Helpers for the CPU kernel tests: seeded random inputs (never zeros), float/double conversion, central finite
// differences through a random projection of an op's output, and a norm-relative error measure.
#ifndef KACHI_TESTS_KERNELS_KERNEL_TEST_UTIL_H_
#define KACHI_TESTS_KERNELS_KERNEL_TEST_UTIL_H_

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace kachi::testing {

// Finite-difference step for double-precision gradient checks: balances truncation (O(h^2)) against rounding
// (O(eps / h)); both stay near 1e-10 relative for the O(1) inputs used here.
inline constexpr double kFiniteDifferenceStep = 1e-5;
// Allowed norm-relative error of an analytic double gradient against central finite differences.
inline constexpr double kGradientTolerance = 1e-6;
// Allowed norm-relative error of a float forward against the double forward on the same inputs.
inline constexpr double kFloatForwardTolerance = 1e-5;

// `n` values uniform in [lo, hi) from a generator seeded with `seed`; exact zeros are redrawn.
template <typename T = double>
std::vector<T> RandomValues(size_t n, uint64_t seed, double lo = -1.0, double hi = 1.0) {
  std::mt19937_64 gen(seed);
  std::uniform_real_distribution<double> dist(lo, hi);
  std::vector<T> out(n);
  for (auto& value : out) {
    do {
      value = static_cast<T>(dist(gen));
    } while (value == T(0));
  }
  return out;
}

// `n` token ids uniform in [lo, hi) from a generator seeded with `seed`.
inline std::vector<int32_t> RandomTokens(size_t n, uint64_t seed, int32_t lo, int32_t hi) {
  std::mt19937_64 gen(seed);
  std::uniform_int_distribution<int32_t> dist(lo, hi - 1);
  std::vector<int32_t> out(n);
  for (auto& token : out) token = dist(gen);
  return out;
}

// Element-wise cast float -> double or double -> float.
template <typename To, typename From>
std::vector<To> Cast(const std::vector<From>& values) {
  return std::vector<To>(values.begin(), values.end());
}

// sum_i out[i] * projection[i]: the scalar loss whose gradient with respect to out is `projection`.
inline double ProjectedSum(const std::vector<double>& out, const std::vector<double>& projection) {
  EXPECT_EQ(out.size(), projection.size());
  double sum = 0;
  for (size_t i = 0; i < out.size(); ++i) sum += out[i] * projection[i];
  return sum;
}

// Central differences (loss(x + h e_i) - loss(x - h e_i)) / 2h for every element of *x; `loss` reads *x.
inline std::vector<double> FiniteDifferenceGradient(std::vector<double>* x, const std::function<double()>& loss) {
  std::vector<double> gradient(x->size());
  for (size_t i = 0; i < x->size(); ++i) {
    const double saved = (*x)[i];
    (*x)[i] = saved + kFiniteDifferenceStep;
    const double plus = loss();
    (*x)[i] = saved - kFiniteDifferenceStep;
    const double minus = loss();
    (*x)[i] = saved;
    gradient[i] = (plus - minus) / (2 * kFiniteDifferenceStep);
  }
  return gradient;
}

// max_i |actual[i] - expected[i]| / max_i |expected[i]| (norm-relative, so near-zero entries do not dominate).
template <typename A>
double MaxRelativeError(const std::vector<A>& actual, const std::vector<double>& expected) {
  EXPECT_EQ(actual.size(), expected.size());
  double max_error = 0;
  double max_expected = 0;
  for (size_t i = 0; i < expected.size() && i < actual.size(); ++i) {
    max_error = std::max(max_error, std::abs(static_cast<double>(actual[i]) - expected[i]));
    max_expected = std::max(max_expected, std::abs(expected[i]));
  }
  EXPECT_GT(max_expected, 0.0) << "reference is all zeros: the comparison would prove nothing";
  return max_error / max_expected;
}

// after[i] - before[i]: what a backward kernel accumulated into a gradient buffer that held `before`.
inline std::vector<double> Accumulated(const std::vector<double>& after, const std::vector<double>& before) {
  std::vector<double> delta(after.size());
  for (size_t i = 0; i < after.size(); ++i) delta[i] = after[i] - before[i];
  return delta;
}

}  // namespace kachi::testing

#endif  // KACHI_TESTS_KERNELS_KERNEL_TEST_UTIL_H_
