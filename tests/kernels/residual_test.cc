// Tests for kachi::cpu::ResidualForward/Backward: the sum, in-place use, finite-difference gradients
// (accumulating into pre-filled buffers) and float vs double.
#include "kernels/residual.h"

#include <vector>

#include "gtest/gtest.h"
#include "tests/kernels/kernel_test_util.h"

namespace kachi::testing {
namespace {

constexpr int64_t kSize = 29;

TEST(ResidualTest, ForwardAddsAndWorksInPlace) {
  const auto a = RandomValues(kSize, 1);
  const auto b = RandomValues(kSize, 2);
  std::vector<double> out(kSize);
  cpu::ResidualForward(out.data(), a.data(), b.data(), kSize);
  for (int64_t i = 0; i < kSize; ++i) EXPECT_EQ(out[i], a[i] + b[i]);
  auto in_place = a;
  cpu::ResidualForward(in_place.data(), in_place.data(), b.data(), kSize);
  EXPECT_EQ(in_place, out);
}

TEST(ResidualTest, BackwardMatchesFiniteDifferences) {
  auto a = RandomValues(kSize, 11);
  auto b = RandomValues(kSize, 12);
  const auto projection = RandomValues(kSize, 13);
  auto loss = [&] {
    std::vector<double> out(kSize);
    cpu::ResidualForward(out.data(), a.data(), b.data(), kSize);
    return ProjectedSum(out, projection);
  };
  const auto da0 = RandomValues(kSize, 14), db0 = RandomValues(kSize, 15);
  auto da = da0, db = db0;
  cpu::ResidualBackward(da.data(), db.data(), projection.data(), kSize);
  EXPECT_LE(MaxRelativeError(Accumulated(da, da0), FiniteDifferenceGradient(&a, loss)), testing::kGradientTolerance);
  EXPECT_LE(MaxRelativeError(Accumulated(db, db0), FiniteDifferenceGradient(&b, loss)), testing::kGradientTolerance);
}

TEST(ResidualTest, FloatForwardMatchesDouble) {
  const auto a = RandomValues(kSize, 21), b = RandomValues(kSize, 22);
  std::vector<double> out(kSize);
  cpu::ResidualForward(out.data(), a.data(), b.data(), kSize);
  const auto a_f = testing::Cast<float>(a), b_f = testing::Cast<float>(b);
  std::vector<float> out_f(kSize);
  cpu::ResidualForward(out_f.data(), a_f.data(), b_f.data(), kSize);
  EXPECT_LE(MaxRelativeError(out_f, out), testing::kFloatForwardTolerance);
}

}  // namespace
}  // namespace kachi::testing
