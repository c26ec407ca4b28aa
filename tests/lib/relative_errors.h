// How the GPU tests compare a result with its double reference: the norm-relative and max-relative errors and the
// count of entries that are not finite (unwritten NaN poison shows up there), and the check of both errors against
// a tolerance. The one copy for the cuda_memory, cuda_matmul and cuda_attention tests; each states its tolerances.
#ifndef KACHI_TESTS_LIB_RELATIVE_ERRORS_H_
#define KACHI_TESTS_LIB_RELATIVE_ERRORS_H_

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace kachi::testing {

// The errors of a result against its reference.
struct RelativeErrors {
  double norm_relative = 0;  // ||actual - expected|| / ||expected||
  double max_relative = 0;   // max |actual - expected| / max |expected|
  int64_t non_finite = 0;    // NaN or infinite entries of actual; both errors are infinite when there are any
};

// The errors of `actual` against `expected`. A size mismatch and an all-zero reference (the comparison would prove
// nothing) are test failures.
inline RelativeErrors CompareWithReference(const std::vector<double>& actual, const std::vector<double>& expected) {
  RelativeErrors errors;
  EXPECT_EQ(actual.size(), expected.size());
  double diff_squared = 0, ref_squared = 0, max_diff = 0, max_ref = 0;
  for (size_t i = 0; i < actual.size() && i < expected.size(); ++i) {
    if (!std::isfinite(actual[i])) {
      ++errors.non_finite;
      continue;
    }
    const double diff = actual[i] - expected[i];
    diff_squared += diff * diff;
    ref_squared += expected[i] * expected[i];
    max_diff = std::max(max_diff, std::abs(diff));
    max_ref = std::max(max_ref, std::abs(expected[i]));
  }
  EXPECT_GT(max_ref, 0.0) << "reference is all zeros: the comparison would prove nothing";
  if (errors.non_finite > 0) {
    errors.norm_relative = errors.max_relative = std::numeric_limits<double>::infinity();
  } else {
    errors.norm_relative = ref_squared > 0 ? std::sqrt(diff_squared / ref_squared) : 0;
    errors.max_relative = max_ref > 0 ? max_diff / max_ref : 0;
  }
  return errors;
}

// Checks `actual` against `expected`: every entry finite and both errors within `tolerance`; prints the errors
// (`what` names the output there and in failure messages).
inline void ExpectClose(const std::vector<double>& actual, const std::vector<double>& expected, double tolerance,
                        const std::string& what) {
  SCOPED_TRACE(what);
  const RelativeErrors errors = CompareWithReference(actual, expected);
  std::printf("  %-40s norm-rel %.3e  max-abs-rel %.3e  (tolerance %.0e)\n", what.c_str(), errors.norm_relative,
              errors.max_relative, tolerance);
  EXPECT_EQ(errors.non_finite, 0) << what << ": entries left unwritten (NaN poison) or not finite";
  EXPECT_LE(errors.norm_relative, tolerance) << what << ": ||out - ref|| / ||ref||";
  EXPECT_LE(errors.max_relative, tolerance) << what << ": max |out - ref| / max |ref|";
}

}  // namespace kachi::testing

#endif  // KACHI_TESTS_LIB_RELATIVE_ERRORS_H_
