// runtime/sample: greedy, top-k and top-p choice on logits vectors. Distribution tests draw 200,000 tokens and
// require every kept token's frequency within 0.006 (about 5 standard deviations, sqrt(p(1-p)/n) <= 0.0011) of the
// renormalised truncated distribution, and no token outside the kept set ever drawn.
#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/sample/token_decoder.h"
#include "runtime/sample/token_sampler.h"

namespace kachi {
namespace {

constexpr int kDraws = 200000;
constexpr double kFrequencyTolerance = 0.006;

// Logits whose softmax is `probs` (up to a constant), in the given token order.
std::vector<float> LogitsOf(const std::vector<double>& probs) {
  std::vector<float> logits;
  for (double p : probs) logits.push_back(static_cast<float>(std::log(p) + 3.0));
  return logits;
}

// Frequencies of kDraws samples.
std::vector<double> Frequencies(const std::vector<float>& logits, const SamplingOptions& options, uint64_t seed) {
  std::mt19937_64 gen(seed);
  std::vector<double> counts(logits.size(), 0);
  for (int i = 0; i < kDraws; ++i) counts[SampleToken(logits, options, gen)] += 1;
  for (double& c : counts) c /= kDraws;
  return counts;
}

void ExpectFrequencies(const std::vector<double>& got, const std::vector<double>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    if (want[i] == 0) {
      EXPECT_EQ(got[i], 0) << "token " << i << " is outside the kept set but was drawn";
    } else {
      EXPECT_NEAR(got[i], want[i], kFrequencyTolerance) << "token " << i;
    }
  }
}

// Fresh random logits (seed printed for reproduction).
std::vector<float> RandomLogits(int n, uint64_t* seed_out) {
  const uint64_t seed = std::random_device{}();
  *seed_out = seed;
  std::mt19937_64 gen(seed);
  std::normal_distribution<float> normal(0, 3);
  std::vector<float> logits(n);
  for (float& l : logits) l = normal(gen);
  return logits;
}

TEST(TokenSampler, ValidatesOptions) {
  EXPECT_TRUE(ValidateSamplingOptions({0.0, 0, 1.0}).ok());
  EXPECT_FALSE(ValidateSamplingOptions({-0.1, 0, 1.0}).ok());
  EXPECT_FALSE(ValidateSamplingOptions({1.0, -1, 1.0}).ok());
  EXPECT_FALSE(ValidateSamplingOptions({1.0, 0, 0.0}).ok());
  EXPECT_FALSE(ValidateSamplingOptions({1.0, 0, 1.5}).ok());
  EXPECT_NE(ValidateSamplingOptions({1.0, 0, 1.5}).message().find("top_p"), std::string::npos);
}

TEST(TokenSampler, GreedyAndTopOneAreArgmax) {
  for (int trial = 0; trial < 20; ++trial) {
    uint64_t seed;
    const std::vector<float> logits = RandomLogits(300, &seed);
    const int64_t best = ArgmaxToken(logits);
    for (size_t i = 0; i < logits.size(); ++i) ASSERT_LE(logits[i], logits[best]) << "seed " << seed;
    std::mt19937_64 gen(seed);
    EXPECT_EQ(SampleToken(logits, {0.0, 0, 1.0}, gen), best) << "seed " << seed;
    EXPECT_EQ(SampleToken(logits, {1.0, 1, 1.0}, gen), best) << "seed " << seed;
    EXPECT_EQ(SampleToken(logits, {5.0, 1, 0.3}, gen), best) << "seed " << seed;
  }
  // Ties: the lowest id.
  EXPECT_EQ(ArgmaxToken(std::vector<float>{1, 3, 3, 2}), 1);
}

TEST(TokenSampler, FullDistributionMatchesSoftmax) {
  const std::vector<double> probs = {0.1, 0.4, 0.06, 0.25, 0.04, 0.15};
  ExpectFrequencies(Frequencies(LogitsOf(probs), {1.0, 0, 1.0}, 7), probs);
}

TEST(TokenSampler, TopPKeepsTheNucleusRenormalised) {
  // Sorted: 0.4 (1), 0.25 (3), 0.15 (5) reach 0.8 >= 0.75; 0.1, 0.06, 0.04 are cut.
  const std::vector<double> probs = {0.1, 0.4, 0.06, 0.25, 0.04, 0.15};
  const std::vector<double> want = {0, 0.4 / 0.8, 0, 0.25 / 0.8, 0, 0.15 / 0.8};
  const SamplingOptions options{1.0, 0, 0.75};
  std::vector<double> dist = SamplingDistribution(LogitsOf(probs), options);
  for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(dist[i], want[i], 1e-6) << "token " << i;
  ExpectFrequencies(Frequencies(LogitsOf(probs), options, 11), want);
  // The nucleus is the smallest prefix reaching p: p = 0.64 keeps 0.4 + 0.25 = 0.65; p = 0.39 keeps 0.4 alone.
  dist = SamplingDistribution(LogitsOf(probs), {1.0, 0, 0.64});
  EXPECT_NEAR(dist[1], 0.4 / 0.65, 1e-6);
  EXPECT_NEAR(dist[3], 0.25 / 0.65, 1e-6);
  EXPECT_EQ(dist[5], 0);
  dist = SamplingDistribution(LogitsOf(probs), {1.0, 0, 0.39});
  EXPECT_EQ(dist[1], 1.0);
  EXPECT_EQ(dist[3], 0);
}

TEST(TokenSampler, TopKAndTemperature) {
  const std::vector<double> probs = {0.1, 0.4, 0.06, 0.25, 0.04, 0.15};
  ExpectFrequencies(Frequencies(LogitsOf(probs), {1.0, 2, 1.0}, 13), {0, 0.4 / 0.65, 0, 0.25 / 0.65, 0, 0});
  // Temperature 2: p_i proportional to sqrt(probs_i), then top-k 3.
  std::vector<double> want(probs.size(), 0);
  const double kept = std::sqrt(0.4) + std::sqrt(0.25) + std::sqrt(0.15);
  want[1] = std::sqrt(0.4) / kept;
  want[3] = std::sqrt(0.25) / kept;
  want[5] = std::sqrt(0.15) / kept;
  ExpectFrequencies(Frequencies(LogitsOf(probs), {2.0, 3, 1.0}, 17), want);
}

TEST(TokenSampler, SameSeedSameTokens) {
  uint64_t seed;
  const std::vector<float> logits = RandomLogits(100, &seed);
  std::mt19937_64 a(5), b(5);
  const SamplingOptions options{0.9, 20, 0.9};
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(SampleToken(logits, options, a), SampleToken(logits, options, b));
}

TEST(TokenDecoder, BytesAndIds) {
  EXPECT_EQ(DefaultDecoder(256)->Decode(std::vector<int32_t>{104, 105}), "hi");
  EXPECT_EQ(DefaultDecoder(50257)->Decode(std::vector<int32_t>{7, 50000}), "7 50000 ");
}

}  // namespace
}  // namespace kachi
