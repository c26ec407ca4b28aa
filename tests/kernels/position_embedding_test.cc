// Tests for kachi::cpu::PositionEmbeddingForward/Backward: the broadcast add, finite-difference gradients of wpe
// and of the input (accumulating into pre-filled buffers) and float vs double.
#include "kernels/position_embedding.h"

#include <vector>

#include "gtest/gtest.h"
#include "tests/kernels/kernel_test_util.h"

namespace kachi::testing {
namespace {

constexpr int64_t kBatch = 3;
constexpr int64_t kSeqLen = 5;
constexpr int64_t kMaxSeqLen = 8;  // wpe has more rows than the sequence uses
constexpr int64_t kChannels = 7;

TEST(PositionEmbeddingTest, ForwardAddsPositionRows) {
  const auto in = RandomValues(kBatch * kSeqLen * kChannels, 1);
  const auto wpe = RandomValues(kMaxSeqLen * kChannels, 2);
  auto out = in;
  cpu::PositionEmbeddingForward(out.data(), wpe.data(), kBatch, kSeqLen, kChannels);
  for (int64_t b = 0; b < kBatch; ++b) {
    for (int64_t t = 0; t < kSeqLen; ++t) {
      for (int64_t c = 0; c < kChannels; ++c) {
        const int64_t i = (b * kSeqLen + t) * kChannels + c;
        EXPECT_EQ(out[i], in[i] + wpe[t * kChannels + c]);
      }
    }
  }
}

TEST(PositionEmbeddingTest, BackwardMatchesFiniteDifferences) {
  auto wpe = RandomValues(kMaxSeqLen * kChannels, 11);
  const auto in = RandomValues(kBatch * kSeqLen * kChannels, 12);
  const auto projection = RandomValues(in.size(), 13);
  auto loss = [&] {
    auto out = in;
    cpu::PositionEmbeddingForward(out.data(), wpe.data(), kBatch, kSeqLen, kChannels);
    return ProjectedSum(out, projection);
  };
  const auto dwpe0 = RandomValues(wpe.size(), 14);
  auto dwpe = dwpe0;
  cpu::PositionEmbeddingBackward(dwpe.data(), projection.data(), kBatch, kSeqLen, kChannels);
  auto expected = FiniteDifferenceGradient(&wpe, loss);
  EXPECT_LE(MaxRelativeError(Accumulated(dwpe, dwpe0), expected), testing::kGradientTolerance);
  // Rows past seq_len get no gradient.
  for (int64_t i = kSeqLen * kChannels; i < kMaxSeqLen * kChannels; ++i) EXPECT_EQ(dwpe[i], dwpe0[i]);
}

TEST(PositionEmbeddingTest, FloatForwardMatchesDouble) {
  const auto in = RandomValues(kBatch * kSeqLen * kChannels, 21);
  const auto wpe = RandomValues(kMaxSeqLen * kChannels, 22);
  auto out = in;
  cpu::PositionEmbeddingForward(out.data(), wpe.data(), kBatch, kSeqLen, kChannels);
  auto out_f = testing::Cast<float>(in);
  const auto wpe_f = testing::Cast<float>(wpe);
  cpu::PositionEmbeddingForward(out_f.data(), wpe_f.data(), kBatch, kSeqLen, kChannels);
  EXPECT_LE(MaxRelativeError(out_f, out), testing::kFloatForwardTolerance);
}

}  // namespace
}  // namespace kachi::testing
