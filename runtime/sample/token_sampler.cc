// Greedy, temperature, top-k and top-p token choice (token_sampler.h).
#include "runtime/sample/token_sampler.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "absl/strings/str_cat.h"

namespace kachi {

absl::Status ValidateSamplingOptions(const SamplingOptions& options) {
  if (!std::isfinite(options.temperature) || options.temperature < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("temperature = ", options.temperature, " must be >= 0 (0 = greedy)"));
  }
  if (options.top_k < 0) return absl::InvalidArgumentError(absl::StrCat("top_k = ", options.top_k, " must be >= 0"));
  if (!(options.top_p > 0 && options.top_p <= 1)) {
    return absl::InvalidArgumentError(absl::StrCat("top_p = ", options.top_p, " must be in (0, 1]"));
  }
  return absl::OkStatus();
}

int64_t ArgmaxToken(absl::Span<const float> logits) {
  if (logits.empty()) return -1;
  int64_t best = 0;
  for (size_t i = 1; i < logits.size(); ++i) {
    if (logits[i] > logits[best]) best = static_cast<int64_t>(i);
  }
  return best;
}

std::vector<double> SamplingDistribution(absl::Span<const float> logits, const SamplingOptions& options) {
  const size_t n = logits.size();
  std::vector<double> probs(n, 0.0);
  if (n == 0) return probs;
  if (options.temperature == 0) {
    probs[ArgmaxToken(logits)] = 1.0;
    return probs;
  }
  const double max_logit = logits[ArgmaxToken(logits)];
  double sum = 0;
  for (size_t i = 0; i < n; ++i) {
    probs[i] = std::exp((static_cast<double>(logits[i]) - max_logit) / options.temperature);
    sum += probs[i];
  }
  for (double& p : probs) p /= sum;
  // Most likely first; ties by token id.
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return probs[a] > probs[b]; });
  size_t keep = n;
  if (options.top_k > 0) keep = std::min<size_t>(keep, static_cast<size_t>(options.top_k));
  if (options.top_p < 1) {
    double cumulative = 0;
    for (size_t j = 0; j < keep; ++j) {
      cumulative += probs[order[j]];
      if (cumulative >= options.top_p) {
        keep = j + 1;
        break;
      }
    }
  }
  double kept = 0;
  for (size_t j = 0; j < keep; ++j) kept += probs[order[j]];
  for (size_t j = keep; j < n; ++j) probs[order[j]] = 0;
  for (size_t j = 0; j < keep; ++j) probs[order[j]] /= kept;
  return probs;
}

int64_t SampleToken(absl::Span<const float> logits, const SamplingOptions& options, std::mt19937_64& gen) {
  if (options.temperature == 0) return ArgmaxToken(logits);
  const std::vector<double> probs = SamplingDistribution(logits, options);
  const double u = std::uniform_real_distribution<double>(0.0, 1.0)(gen);
  double cumulative = 0;
  int64_t last_kept = 0;
  for (size_t i = 0; i < probs.size(); ++i) {
    if (probs[i] == 0) continue;
    last_kept = static_cast<int64_t>(i);
    cumulative += probs[i];
    if (u < cumulative) return last_kept;
  }
  return last_kept;  // rounding left u above the final sum: the last token with probability > 0
}

}  // namespace kachi
