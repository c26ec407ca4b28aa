// Tests for kachi::cpu::LayerNormForward/Backward: row statistics and output against the definition,
// finite-difference gradients (accumulating into pre-filled buffers) and float vs double.
#include "kernels/layernorm.h"

#include <cmath>
#include <vector>

#include "gtest/gtest.h"
#include "tests/kernels/kernel_test_util.h"

namespace kachi::testing {
namespace {

constexpr int64_t kRows = 5;
constexpr int64_t kChannels = 13;  // not a multiple of the 8 lanes: exercises the tail

TEST(LayerNormTest, ForwardMatchesDefinition) {
  const auto in = RandomValues(kRows * kChannels, 1, -2.0, 3.0);
  const auto weight = RandomValues(kChannels, 2);
  const auto bias = RandomValues(kChannels, 3);
  std::vector<double> out(in.size()), mean(kRows), rstd(kRows);
  cpu::LayerNormForward(out.data(), mean.data(), rstd.data(), in.data(), weight.data(), bias.data(), kRows, kChannels);
  std::vector<double> expected(in.size()), expected_mean(kRows), expected_rstd(kRows);
  for (int64_t r = 0; r < kRows; ++r) {
    double sum = 0, sum_squares = 0;
    for (int64_t c = 0; c < kChannels; ++c) sum += in[r * kChannels + c];
    expected_mean[r] = sum / kChannels;
    for (int64_t c = 0; c < kChannels; ++c) {
      sum_squares += std::pow(in[r * kChannels + c] - expected_mean[r], 2);
    }
    expected_rstd[r] = 1.0 / std::sqrt(sum_squares / kChannels + 1e-5);
    for (int64_t c = 0; c < kChannels; ++c) {
      expected[r * kChannels + c] = (in[r * kChannels + c] - expected_mean[r]) * expected_rstd[r] * weight[c] + bias[c];
    }
  }
  EXPECT_LE(MaxRelativeError(out, expected), 1e-13);
  EXPECT_LE(MaxRelativeError(mean, expected_mean), 1e-13);
  EXPECT_LE(MaxRelativeError(rstd, expected_rstd), 1e-13);
}

TEST(LayerNormTest, BackwardMatchesFiniteDifferences) {
  auto in = RandomValues(kRows * kChannels, 11, -2.0, 3.0);
  auto weight = RandomValues(kChannels, 12);
  auto bias = RandomValues(kChannels, 13);
  const auto projection = RandomValues(kRows * kChannels, 14);
  std::vector<double> mean(kRows), rstd(kRows);
  auto loss = [&] {
    std::vector<double> out(in.size());
    cpu::LayerNormForward(out.data(), mean.data(), rstd.data(), in.data(), weight.data(), bias.data(), kRows,
                          kChannels);
    return ProjectedSum(out, projection);
  };
  loss();  // fills mean and rstd at the unperturbed inputs
  const auto saved_mean = mean, saved_rstd = rstd;
  const auto din0 = RandomValues(in.size(), 15);
  const auto dweight0 = RandomValues(weight.size(), 16);
  const auto dbias0 = RandomValues(bias.size(), 17);
  auto din = din0, dweight = dweight0, dbias = dbias0;
  cpu::LayerNormBackward(din.data(), dweight.data(), dbias.data(), projection.data(), in.data(), weight.data(),
                         saved_mean.data(), saved_rstd.data(), kRows, kChannels);
  EXPECT_LE(MaxRelativeError(Accumulated(din, din0), FiniteDifferenceGradient(&in, loss)), testing::kGradientTolerance);
  EXPECT_LE(MaxRelativeError(Accumulated(dweight, dweight0), FiniteDifferenceGradient(&weight, loss)),
            testing::kGradientTolerance);
  EXPECT_LE(MaxRelativeError(Accumulated(dbias, dbias0), FiniteDifferenceGradient(&bias, loss)),
            testing::kGradientTolerance);
}

TEST(LayerNormTest, FloatForwardMatchesDouble) {
  const auto in = RandomValues(kRows * kChannels, 21, -2.0, 3.0);
  const auto weight = RandomValues(kChannels, 22);
  const auto bias = RandomValues(kChannels, 23);
  std::vector<double> out(in.size()), mean(kRows), rstd(kRows);
  cpu::LayerNormForward(out.data(), mean.data(), rstd.data(), in.data(), weight.data(), bias.data(), kRows, kChannels);
  const auto in_f = testing::Cast<float>(in), weight_f = testing::Cast<float>(weight);
  const auto bias_f = testing::Cast<float>(bias);
  std::vector<float> out_f(in.size()), mean_f(kRows), rstd_f(kRows);
  cpu::LayerNormForward(out_f.data(), mean_f.data(), rstd_f.data(), in_f.data(), weight_f.data(), bias_f.data(), kRows,
                        kChannels);
  EXPECT_LE(MaxRelativeError(out_f, out), testing::kFloatForwardTolerance);
  EXPECT_LE(MaxRelativeError(rstd_f, rstd), testing::kFloatForwardTolerance);
}

}  // namespace
}  // namespace kachi::testing
