// The next token from a logits vector: greedy (temperature 0), or a draw from softmax(logits / temperature) kept to
// the k most likely tokens (top-k) and/or the smallest set of most likely tokens whose probability reaches p
// (top-p, nucleus), renormalised. One helper per job so the distribution itself is unit-testable.
#ifndef KACHI_RUNTIME_SAMPLE_TOKEN_SAMPLER_H_
#define KACHI_RUNTIME_SAMPLE_TOKEN_SAMPLER_H_

#include <cstdint>
#include <random>
#include <vector>

#include "absl/status/status.h"
#include "absl/types/span.h"

namespace kachi {

// How to choose a token. Defaults: plain softmax sampling at temperature 1.
struct SamplingOptions {
  double temperature = 1.0;  // 0 = greedy (argmax); otherwise > 0
  int64_t top_k = 0;         // keep the k most likely tokens; 0 = all
  double top_p = 1.0;        // keep the smallest most-likely set with probability >= top_p; in (0, 1]
};

// InvalidArgument naming the field when temperature < 0 (or not finite), top_k < 0, or top_p outside (0, 1].
absl::Status ValidateSamplingOptions(const SamplingOptions& options);

// The index of the largest logit (the first one on ties); -1 for an empty vector.
int64_t ArgmaxToken(absl::Span<const float> logits);

// The probabilities SampleToken draws from: softmax(logits / temperature) with every token outside the top-k /
// top-p set at 0 and the rest renormalised to sum to 1. Ties in probability are ordered by token id (lower first),
// so the set is deterministic. Temperature 0 gives probability 1 on ArgmaxToken. Options must be valid.
std::vector<double> SamplingDistribution(absl::Span<const float> logits, const SamplingOptions& options);

// Draws one token: ArgmaxToken at temperature 0 (no random number consumed), else one uniform draw from `gen`
// walked through SamplingDistribution in token order. Options must be valid; logits non-empty.
int64_t SampleToken(absl::Span<const float> logits, const SamplingOptions& options, std::mt19937_64& gen);

}  // namespace kachi

#endif  // KACHI_RUNTIME_SAMPLE_TOKEN_SAMPLER_H_
