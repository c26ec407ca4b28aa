// Tests for kachi::cpu::TokenEmbeddingForward/Backward: lookup, vocab shards summing to the full embedding,
// finite-difference table gradient with repeated tokens (accumulating into a pre-filled buffer), sharded
// gradients concatenating to the full one, and float vs double.
#include "kernels/token_embedding.h"

#include <vector>

#include "gtest/gtest.h"
#include "tests/kernels/kernel_test_util.h"

namespace kachi::testing {
namespace {

constexpr int64_t kVocab = 11;
constexpr int64_t kChannels = 6;
constexpr int64_t kTokens = 23;  // more tokens than vocab ids: repeats are certain

// [start, rows) of each vocab shard; uneven on purpose.
const std::vector<std::pair<int64_t, int64_t>>& Shards(int count) {
  static const std::vector<std::pair<int64_t, int64_t>> two = {{0, 6}, {6, 5}};
  static const std::vector<std::pair<int64_t, int64_t>> four = {{0, 3}, {3, 3}, {6, 3}, {9, 2}};
  return count == 2 ? two : four;
}

TEST(TokenEmbeddingTest, ForwardLooksUpRows) {
  const auto tokens = RandomTokens(kTokens, 1, 0, kVocab);
  const auto table = RandomValues(kVocab * kChannels, 2);
  std::vector<double> out(kTokens * kChannels);
  cpu::TokenEmbeddingForward(out.data(), tokens.data(), table.data(), kTokens, kChannels, 0, kVocab);
  for (int64_t n = 0; n < kTokens; ++n) {
    for (int64_t c = 0; c < kChannels; ++c) EXPECT_EQ(out[n * kChannels + c], table[tokens[n] * kChannels + c]);
  }
}

TEST(TokenEmbeddingTest, VocabShardsSumToFullEmbedding) {
  const auto tokens = RandomTokens(kTokens, 11, 0, kVocab);
  const auto table = RandomValues(kVocab * kChannels, 12);
  std::vector<double> full(kTokens * kChannels);
  cpu::TokenEmbeddingForward(full.data(), tokens.data(), table.data(), kTokens, kChannels, 0, kVocab);
  for (int shard_count : {2, 4}) {
    std::vector<double> summed(full.size(), 0.0), shard_out(full.size(), 7.0);  // 7: must be overwritten
    for (const auto& [start, rows] : Shards(shard_count)) {
      cpu::TokenEmbeddingForward(shard_out.data(), tokens.data(), table.data() + start * kChannels, kTokens, kChannels,
                                 start, rows);
      for (size_t i = 0; i < summed.size(); ++i) summed[i] += shard_out[i];
    }
    EXPECT_EQ(summed, full) << shard_count << " shards";
  }
}

TEST(TokenEmbeddingTest, BackwardMatchesFiniteDifferences) {
  const auto tokens = RandomTokens(kTokens, 21, 0, kVocab);
  auto table = RandomValues(kVocab * kChannels, 22);
  const auto projection = RandomValues(kTokens * kChannels, 23);
  auto loss = [&] {
    std::vector<double> out(kTokens * kChannels);
    cpu::TokenEmbeddingForward(out.data(), tokens.data(), table.data(), kTokens, kChannels, 0, kVocab);
    return ProjectedSum(out, projection);
  };
  const auto dtable0 = RandomValues(table.size(), 24);
  auto dtable = dtable0;
  cpu::TokenEmbeddingBackward(dtable.data(), projection.data(), tokens.data(), kTokens, kChannels, 0, kVocab);
  EXPECT_LE(MaxRelativeError(Accumulated(dtable, dtable0), FiniteDifferenceGradient(&table, loss)),
            testing::kGradientTolerance);
}

TEST(TokenEmbeddingTest, ShardGradientsConcatenateToFullGradient) {
  const auto tokens = RandomTokens(kTokens, 31, 0, kVocab);
  const auto dout = RandomValues(kTokens * kChannels, 32);
  const auto dtable0 = RandomValues(kVocab * kChannels, 33);
  auto full = dtable0;
  cpu::TokenEmbeddingBackward(full.data(), dout.data(), tokens.data(), kTokens, kChannels, 0, kVocab);
  for (int shard_count : {2, 4}) {
    auto concatenated = dtable0;  // each shard updates its own rows of the same initial gradient
    for (const auto& [start, rows] : Shards(shard_count)) {
      cpu::TokenEmbeddingBackward(concatenated.data() + start * kChannels, dout.data(), tokens.data(), kTokens,
                                  kChannels, start, rows);
    }
    EXPECT_EQ(concatenated, full) << shard_count << " shards";
  }
}

TEST(TokenEmbeddingTest, FloatForwardMatchesDouble) {
  const auto tokens = RandomTokens(kTokens, 41, 0, kVocab);
  const auto table = RandomValues(kVocab * kChannels, 42);
  std::vector<double> out(kTokens * kChannels);
  cpu::TokenEmbeddingForward(out.data(), tokens.data(), table.data(), kTokens, kChannels, 0, kVocab);
  const auto table_f = testing::Cast<float>(table);
  std::vector<float> out_f(kTokens * kChannels);
  cpu::TokenEmbeddingForward(out_f.data(), tokens.data(), table_f.data(), kTokens, kChannels, 0, kVocab);
  EXPECT_LE(MaxRelativeError(out_f, out), testing::kFloatForwardTolerance);
}

}  // namespace
}  // namespace kachi::testing
