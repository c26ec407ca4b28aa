// Tests for kachi::cpu::GeluForward/Backward: known values of the tanh approximation, finite-difference gradient
// (accumulating into a pre-filled buffer) and float vs double.
#include "kernels/gelu.h"

#include <vector>

#include "gtest/gtest.h"
#include "tests/kernels/kernel_test_util.h"

namespace kachi::testing {
namespace {

constexpr int64_t kSize = 37;

TEST(GeluTest, ForwardMatchesKnownValues) {
  // 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) evaluated independently (Python, double).
  const std::vector<double> in = {1.0, -1.0, 2.0, -0.5, 3.0};
  const std::vector<double> expected = {0.8411919906082768, -0.15880800939172324, 1.954597694087775,
                                        -0.15428599017485606, 2.996362607918227};
  std::vector<double> out(in.size());
  cpu::GeluForward(out.data(), in.data(), static_cast<int64_t>(in.size()));
  for (size_t i = 0; i < in.size(); ++i) EXPECT_NEAR(out[i], expected[i], 1e-12) << "x=" << in[i];
}

TEST(GeluTest, BackwardMatchesFiniteDifferences) {
  auto in = RandomValues(kSize, 1, -4.0, 4.0);
  const auto projection = RandomValues(kSize, 2);
  auto loss = [&] {
    std::vector<double> out(kSize);
    cpu::GeluForward(out.data(), in.data(), kSize);
    return ProjectedSum(out, projection);
  };
  const auto din0 = RandomValues(kSize, 3);
  auto din = din0;
  cpu::GeluBackward(din.data(), in.data(), projection.data(), kSize);
  EXPECT_LE(MaxRelativeError(Accumulated(din, din0), FiniteDifferenceGradient(&in, loss)), testing::kGradientTolerance);
}

TEST(GeluTest, FloatForwardMatchesDouble) {
  const auto in = RandomValues(kSize, 11, -4.0, 4.0);
  std::vector<double> out(kSize);
  cpu::GeluForward(out.data(), in.data(), kSize);
  const auto in_f = testing::Cast<float>(in);
  std::vector<float> out_f(kSize);
  cpu::GeluForward(out_f.data(), in_f.data(), kSize);
  EXPECT_LE(MaxRelativeError(out_f, out), testing::kFloatForwardTolerance);
}

}  // namespace
}  // namespace kachi::testing
