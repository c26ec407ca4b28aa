// Tests for kachi::cpu::MatmulForward/Backward: a naive reference, finite-difference gradients (accumulating into
// pre-filled buffers), float vs double, and the column-/row-parallel shard identities tensor parallelism relies on.
#include "kernels/matmul.h"

#include <vector>

#include "gtest/gtest.h"
#include "tests/kernels/kernel_test_util.h"

namespace kachi::testing {
namespace {

// Shape chosen to hit the 4x4 tiles, the row and column tails, and the lane tail (in_channels % 8 != 0).
constexpr int64_t kRows = 7;
constexpr int64_t kIn = 19;
constexpr int64_t kOut = 10;

// out[n, o] = sum_i in[n, i] * weight[o, i] + bias[o], straight from the definition.
std::vector<double> NaiveMatmul(const std::vector<double>& in, const std::vector<double>& weight,
                                const std::vector<double>* bias, int64_t rows, int64_t in_ch, int64_t out_ch) {
  std::vector<double> out(rows * out_ch);
  for (int64_t n = 0; n < rows; ++n) {
    for (int64_t o = 0; o < out_ch; ++o) {
      double sum = bias != nullptr ? (*bias)[o] : 0.0;
      for (int64_t i = 0; i < in_ch; ++i) sum += in[n * in_ch + i] * weight[o * in_ch + i];
      out[n * out_ch + o] = sum;
    }
  }
  return out;
}

TEST(MatmulTest, ForwardMatchesNaiveWithAndWithoutBias) {
  for (int64_t rows : {1, 4, 7, 9}) {
    const auto in = RandomValues(rows * kIn, 100 + rows);
    const auto weight = RandomValues(kOut * kIn, 200 + rows);
    const auto bias = RandomValues(kOut, 300 + rows);
    std::vector<double> out(rows * kOut);
    cpu::MatmulForward(out.data(), in.data(), weight.data(), bias.data(), rows, kIn, kOut);
    EXPECT_LE(MaxRelativeError(out, NaiveMatmul(in, weight, &bias, rows, kIn, kOut)), 1e-14) << "rows=" << rows;
    cpu::MatmulForward(out.data(), in.data(), weight.data(), static_cast<const double*>(nullptr), rows, kIn, kOut);
    EXPECT_LE(MaxRelativeError(out, NaiveMatmul(in, weight, nullptr, rows, kIn, kOut)), 1e-14) << "rows=" << rows;
  }
}

TEST(MatmulTest, BackwardMatchesFiniteDifferences) {
  auto in = RandomValues(kRows * kIn, 1);
  auto weight = RandomValues(kOut * kIn, 2);
  auto bias = RandomValues(kOut, 3);
  const auto projection = RandomValues(kRows * kOut, 4);
  auto loss = [&] {
    std::vector<double> out(kRows * kOut);
    cpu::MatmulForward(out.data(), in.data(), weight.data(), bias.data(), kRows, kIn, kOut);
    return ProjectedSum(out, projection);
  };
  // Gradient buffers start random: the backward must add to them.
  const auto din0 = RandomValues(in.size(), 5);
  const auto dweight0 = RandomValues(weight.size(), 6);
  const auto dbias0 = RandomValues(bias.size(), 7);
  auto din = din0, dweight = dweight0, dbias = dbias0;
  cpu::MatmulBackward(din.data(), dweight.data(), dbias.data(), projection.data(), in.data(), weight.data(), kRows, kIn,
                      kOut);
  EXPECT_LE(MaxRelativeError(Accumulated(din, din0), FiniteDifferenceGradient(&in, loss)), testing::kGradientTolerance);
  EXPECT_LE(MaxRelativeError(Accumulated(dweight, dweight0), FiniteDifferenceGradient(&weight, loss)),
            testing::kGradientTolerance);
  EXPECT_LE(MaxRelativeError(Accumulated(dbias, dbias0), FiniteDifferenceGradient(&bias, loss)),
            testing::kGradientTolerance);
}

TEST(MatmulTest, BackwardSkipsNullInputAndBiasGradients) {
  const auto in = RandomValues(kRows * kIn, 11);
  const auto weight = RandomValues(kOut * kIn, 12);
  const auto dout = RandomValues(kRows * kOut, 13);
  const auto dweight0 = RandomValues(weight.size(), 14);
  auto with_all = dweight0, weight_only = dweight0;
  std::vector<double> din(in.size(), 0.5), dbias(kOut, 0.5);
  cpu::MatmulBackward(din.data(), with_all.data(), dbias.data(), dout.data(), in.data(), weight.data(), kRows, kIn,
                      kOut);
  cpu::MatmulBackward(static_cast<double*>(nullptr), weight_only.data(), static_cast<double*>(nullptr), dout.data(),
                      in.data(), weight.data(), kRows, kIn, kOut);
  EXPECT_EQ(with_all, weight_only);
}

TEST(MatmulTest, FloatForwardMatchesDouble) {
  const auto in = RandomValues(kRows * kIn, 21);
  const auto weight = RandomValues(kOut * kIn, 22);
  const auto bias = RandomValues(kOut, 23);
  std::vector<double> out(kRows * kOut);
  cpu::MatmulForward(out.data(), in.data(), weight.data(), bias.data(), kRows, kIn, kOut);
  const auto in_f = testing::Cast<float>(in), weight_f = testing::Cast<float>(weight);
  const auto bias_f = testing::Cast<float>(bias);
  std::vector<float> out_f(kRows * kOut);
  cpu::MatmulForward(out_f.data(), in_f.data(), weight_f.data(), bias_f.data(), kRows, kIn, kOut);
  EXPECT_LE(MaxRelativeError(out_f, out), testing::kFloatForwardTolerance);
}

TEST(MatmulTest, ColumnParallelShardsGiveOutputColumnSlices) {
  const auto in = RandomValues(kRows * kIn, 31);
  const auto weight = RandomValues(kOut * kIn, 32);
  const auto bias = RandomValues(kOut, 33);
  std::vector<double> full(kRows * kOut);
  cpu::MatmulForward(full.data(), in.data(), weight.data(), bias.data(), kRows, kIn, kOut);
  const int64_t split = 6;  // rows [0, 6) of the weight on one rank, [6, 10) on the other
  for (auto [begin, count] : {std::pair<int64_t, int64_t>{0, split}, {split, kOut - split}}) {
    std::vector<double> shard(kRows * count);
    cpu::MatmulForward(shard.data(), in.data(), weight.data() + begin * kIn, bias.data() + begin, kRows, kIn, count);
    std::vector<double> expected(kRows * count);
    for (int64_t n = 0; n < kRows; ++n) {
      for (int64_t o = 0; o < count; ++o) expected[n * count + o] = full[n * kOut + begin + o];
    }
    EXPECT_LE(MaxRelativeError(shard, expected), 1e-14) << "weight rows from " << begin;
  }
}

TEST(MatmulTest, RowParallelPartialSumsAddUpToFullOutput) {
  const auto in = RandomValues(kRows * kIn, 41);
  const auto weight = RandomValues(kOut * kIn, 42);
  const auto bias = RandomValues(kOut, 43);
  std::vector<double> full(kRows * kOut);
  cpu::MatmulForward(full.data(), in.data(), weight.data(), bias.data(), kRows, kIn, kOut);
  const int64_t split = 11;  // input columns [0, 11) on rank 0 (with the bias), [11, 19) on rank 1
  std::vector<double> summed(kRows * kOut, 0.0);
  for (int rank = 0; rank < 2; ++rank) {
    const int64_t begin = rank == 0 ? 0 : split;
    const int64_t count = rank == 0 ? split : kIn - split;
    std::vector<double> in_shard(kRows * count), weight_shard(kOut * count), partial(kRows * kOut);
    for (int64_t n = 0; n < kRows; ++n) {
      for (int64_t i = 0; i < count; ++i) in_shard[n * count + i] = in[n * kIn + begin + i];
    }
    for (int64_t o = 0; o < kOut; ++o) {
      for (int64_t i = 0; i < count; ++i) weight_shard[o * count + i] = weight[o * kIn + begin + i];
    }
    cpu::MatmulForward(partial.data(), in_shard.data(), weight_shard.data(), rank == 0 ? bias.data() : nullptr, kRows,
                       count, kOut);
    for (size_t j = 0; j < summed.size(); ++j) summed[j] += partial[j];
  }
  EXPECT_LE(MaxRelativeError(summed, full), 1e-14);
}

}  // namespace
}  // namespace kachi::testing
