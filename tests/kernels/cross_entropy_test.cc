// Tests for the kachi::cpu cross-entropy pieces: the single-rank loss against log-softmax from the definition,
// the convenience CrossEntropyForward against the chained pieces, finite-difference dlogits (padding columns
// included), in-place backward, float vs double, and 2- and 4-way vocab shards (combined by hand the way the
// all-reduces would) matching the unsharded loss and gradient.
#include "kernels/cross_entropy.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "gtest/gtest.h"
#include "tests/kernels/kernel_test_util.h"

namespace kachi::testing {
namespace {

constexpr int64_t kRows = 6;
constexpr int64_t kVocab = 37;          // real vocabulary entries
constexpr int64_t kCols = 40;           // padded width of the unsharded logits
constexpr double kPaddingLogit = 50.0;  // would dominate the softmax if padding were not ignored

// Random logits in [-3, 3) with the padding columns set to kPaddingLogit.
std::vector<double> PaddedLogits(uint64_t seed) {
  auto logits = RandomValues(kRows * kCols, seed, -3.0, 3.0);
  for (int64_t n = 0; n < kRows; ++n) {
    std::fill(logits.begin() + n * kCols + kVocab, logits.begin() + (n + 1) * kCols, kPaddingLogit);
  }
  return logits;
}

// Single-rank loss through CrossEntropyForward.
std::vector<double> Loss(const std::vector<double>& logits, const std::vector<int32_t>& targets) {
  std::vector<double> loss(kRows), row_max(kRows), row_sum(kRows);
  cpu::CrossEntropyForward(loss.data(), row_max.data(), row_sum.data(), logits.data(), targets.data(), kRows, kCols,
                           kVocab);
  return loss;
}

TEST(CrossEntropyTest, ForwardMatchesLogSoftmaxDefinition) {
  const auto logits = PaddedLogits(1);
  const auto targets = RandomTokens(kRows, 2, 0, kVocab);
  const auto loss = Loss(logits, targets);
  std::vector<double> expected(kRows);
  for (int64_t n = 0; n < kRows; ++n) {
    double total = 0;
    for (int64_t c = 0; c < kVocab; ++c) total += std::exp(logits[n * kCols + c]);
    expected[n] = -std::log(std::exp(logits[n * kCols + targets[n]]) / total);
  }
  EXPECT_LE(MaxRelativeError(loss, expected), 1e-14);
}

TEST(CrossEntropyTest, ChainedPiecesEqualConvenienceForward) {
  const auto logits = PaddedLogits(11);
  const auto targets = RandomTokens(kRows, 12, 0, kVocab);
  std::vector<double> row_max(kRows), row_sum(kRows), target_logit(kRows), loss(kRows);
  cpu::CrossEntropyRowMax(row_max.data(), logits.data(), kRows, kCols, kVocab);
  cpu::CrossEntropyRowSumExp(row_sum.data(), logits.data(), row_max.data(), kRows, kCols, kVocab);
  cpu::CrossEntropyTargetLogit(target_logit.data(), logits.data(), targets.data(), kRows, kCols, kVocab, 0);
  cpu::CrossEntropyLoss(loss.data(), row_max.data(), row_sum.data(), target_logit.data(), kRows);
  std::vector<double> chained_loss(kRows), chained_max(kRows), chained_sum(kRows);
  cpu::CrossEntropyForward(chained_loss.data(), chained_max.data(), chained_sum.data(), logits.data(), targets.data(),
                           kRows, kCols, kVocab);
  EXPECT_EQ(loss, chained_loss);
  EXPECT_EQ(row_max, chained_max);
  EXPECT_EQ(row_sum, chained_sum);
}

TEST(CrossEntropyTest, BackwardMatchesFiniteDifferencesAndZeroesPadding) {
  auto logits = PaddedLogits(21);
  const auto targets = RandomTokens(kRows, 22, 0, kVocab);
  const auto dloss = RandomValues(kRows, 23);
  auto total_loss = [&] { return testing::ProjectedSum(Loss(logits, targets), dloss); };
  std::vector<double> loss(kRows), row_max(kRows), row_sum(kRows);
  cpu::CrossEntropyForward(loss.data(), row_max.data(), row_sum.data(), logits.data(), targets.data(), kRows, kCols,
                           kVocab);
  auto dlogits = RandomValues(logits.size(), 24);  // garbage: the backward writes every element
  cpu::CrossEntropyBackward(dlogits.data(), logits.data(), row_max.data(), row_sum.data(), targets.data(), dloss.data(),
                            kRows, kCols, kVocab, 0);
  EXPECT_LE(MaxRelativeError(dlogits, FiniteDifferenceGradient(&logits, total_loss)), testing::kGradientTolerance);
  for (int64_t n = 0; n < kRows; ++n) {
    for (int64_t c = kVocab; c < kCols; ++c) EXPECT_EQ(dlogits[n * kCols + c], 0.0) << "padding column " << c;
  }
}

TEST(CrossEntropyTest, BackwardInPlaceEqualsOutOfPlace) {
  const auto logits = PaddedLogits(31);
  const auto targets = RandomTokens(kRows, 32, 0, kVocab);
  const auto dloss = RandomValues(kRows, 33);
  std::vector<double> loss(kRows), row_max(kRows), row_sum(kRows), dlogits(logits.size());
  cpu::CrossEntropyForward(loss.data(), row_max.data(), row_sum.data(), logits.data(), targets.data(), kRows, kCols,
                           kVocab);
  cpu::CrossEntropyBackward(dlogits.data(), logits.data(), row_max.data(), row_sum.data(), targets.data(), dloss.data(),
                            kRows, kCols, kVocab, 0);
  auto in_place = logits;
  cpu::CrossEntropyBackward(in_place.data(), in_place.data(), row_max.data(), row_sum.data(), targets.data(),
                            dloss.data(), kRows, kCols, kVocab, 0);
  EXPECT_EQ(in_place, dlogits);
}

TEST(CrossEntropyTest, FloatForwardMatchesDouble) {
  const auto logits = PaddedLogits(41);
  const auto targets = RandomTokens(kRows, 42, 0, kVocab);
  const auto loss = Loss(logits, targets);
  const auto logits_f = testing::Cast<float>(logits);
  std::vector<float> loss_f(kRows), row_max_f(kRows), row_sum_f(kRows);
  cpu::CrossEntropyForward(loss_f.data(), row_max_f.data(), row_sum_f.data(), logits_f.data(), targets.data(), kRows,
                           kCols, kVocab);
  EXPECT_LE(MaxRelativeError(loss_f, loss), testing::kFloatForwardTolerance);
}

// Splits the padded vocabulary into `shards` equal column blocks, runs the pieces on each, combines them as the
// all-reduces would (max of maxes, sum of sums, sum of picks), and compares loss and dlogits to the unsharded run.
void ExpectShardsMatchUnsharded(int shards, uint64_t seed) {
  SCOPED_TRACE(::testing::Message() << shards << " vocab shards");
  const auto logits = PaddedLogits(seed);
  const auto targets = RandomTokens(kRows, seed + 1, 0, kVocab);
  const auto dloss = RandomValues(kRows, seed + 2);
  std::vector<double> loss(kRows), row_max(kRows), row_sum(kRows), dlogits(logits.size());
  cpu::CrossEntropyForward(loss.data(), row_max.data(), row_sum.data(), logits.data(), targets.data(), kRows, kCols,
                           kVocab);
  cpu::CrossEntropyBackward(dlogits.data(), logits.data(), row_max.data(), row_sum.data(), targets.data(), dloss.data(),
                            kRows, kCols, kVocab, 0);

  const int64_t shard_cols = kCols / shards;
  std::vector<std::vector<double>> shard_logits(shards, std::vector<double>(kRows * shard_cols));
  std::vector<int64_t> valid(shards);
  for (int s = 0; s < shards; ++s) {
    valid[s] = std::clamp<int64_t>(kVocab - s * shard_cols, 0, shard_cols);
    for (int64_t n = 0; n < kRows; ++n) {
      std::copy_n(logits.begin() + n * kCols + s * shard_cols, shard_cols, shard_logits[s].begin() + n * shard_cols);
    }
  }
  std::vector<double> global_max(kRows, -std::numeric_limits<double>::infinity());
  std::vector<double> global_sum(kRows, 0.0), global_pick(kRows, 0.0), piece(kRows);
  for (int s = 0; s < shards; ++s) {
    cpu::CrossEntropyRowMax(piece.data(), shard_logits[s].data(), kRows, shard_cols, valid[s]);
    for (int64_t n = 0; n < kRows; ++n) global_max[n] = std::max(global_max[n], piece[n]);
  }
  for (int s = 0; s < shards; ++s) {
    cpu::CrossEntropyRowSumExp(piece.data(), shard_logits[s].data(), global_max.data(), kRows, shard_cols, valid[s]);
    for (int64_t n = 0; n < kRows; ++n) global_sum[n] += piece[n];
    cpu::CrossEntropyTargetLogit(piece.data(), shard_logits[s].data(), targets.data(), kRows, shard_cols, valid[s],
                                 s * shard_cols);
    for (int64_t n = 0; n < kRows; ++n) global_pick[n] += piece[n];
  }
  std::vector<double> sharded_loss(kRows);
  cpu::CrossEntropyLoss(sharded_loss.data(), global_max.data(), global_sum.data(), global_pick.data(), kRows);
  EXPECT_LE(MaxRelativeError(sharded_loss, loss), 1e-14);

  std::vector<double> joined_dlogits(logits.size());
  for (int s = 0; s < shards; ++s) {
    std::vector<double> shard_dlogits(kRows * shard_cols);
    cpu::CrossEntropyBackward(shard_dlogits.data(), shard_logits[s].data(), global_max.data(), global_sum.data(),
                              targets.data(), dloss.data(), kRows, shard_cols, valid[s], s * shard_cols);
    for (int64_t n = 0; n < kRows; ++n) {
      std::copy_n(shard_dlogits.begin() + n * shard_cols, shard_cols,
                  joined_dlogits.begin() + n * kCols + s * shard_cols);
    }
  }
  EXPECT_LE(MaxRelativeError(joined_dlogits, dlogits), 1e-14);
}

TEST(CrossEntropyTest, TwoVocabShardsMatchUnsharded) { ExpectShardsMatchUnsharded(2, 51); }

TEST(CrossEntropyTest, FourVocabShardsMatchUnsharded) { ExpectShardsMatchUnsharded(4, 61); }

}  // namespace
}  // namespace kachi::testing
