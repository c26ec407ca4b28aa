// Helpers for the runtime/io tests: a fresh temporary directory, seeded random values (never zeros), and the
// max-norm relative error used to compare tensors.
#ifndef KACHI_TESTS_IO_IO_TEST_UTIL_H_
#define KACHI_TESTS_IO_IO_TEST_UTIL_H_

#include <stdlib.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace kachi::testing {

// A new empty directory under the system temporary directory ("kachi_io_<tag>_XXXXXX"); fails the test on error.
inline std::string MakeTempDir(const std::string& tag) {
  const char* base = std::getenv("TMPDIR");
  std::string pattern = std::string(base && *base ? base : "/tmp") + "/kachi_io_" + tag + "_XXXXXX";
  std::vector<char> buffer(pattern.begin(), pattern.end());
  buffer.push_back('\0');
  const char* made = ::mkdtemp(buffer.data());
  EXPECT_NE(made, nullptr) << "mkdtemp failed for " << pattern;
  return made ? std::string(made) : std::string("/tmp");
}

// `n` floats uniform in [lo, hi) from a generator seeded with `seed`; exact zeros are redrawn.
inline std::vector<float> NonZeroFloats(size_t n, uint64_t seed, float lo = -1.0f, float hi = 1.0f) {
  std::mt19937_64 gen(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> out(n);
  for (float& value : out) {
    do {
      value = dist(gen);
    } while (value == 0.0f);
  }
  return out;
}

// max_i |actual_i - expected_i| / max(max_i |expected_i|, 1e-30): the error relative to the tensor's largest
// expected magnitude (infinity when the sizes differ).
inline double MaxNormRelativeError(const std::vector<float>& actual, const std::vector<float>& expected) {
  if (actual.size() != expected.size()) return INFINITY;
  double max_diff = 0, max_expected = 0;
  for (size_t i = 0; i < actual.size(); ++i) {
    max_diff = std::max(max_diff, std::fabs(static_cast<double>(actual[i]) - expected[i]));
    max_expected = std::max(max_expected, std::fabs(static_cast<double>(expected[i])));
  }
  return max_diff / std::max(max_expected, 1e-30);
}

}  // namespace kachi::testing

#endif  // KACHI_TESTS_IO_IO_TEST_UTIL_H_
