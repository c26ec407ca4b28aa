// Order statistics for benchmark samples (see bench_stats.h).
#include "bench/comm/bench_stats.h"

#include <algorithm>

namespace kachi {

double Median(std::vector<double> samples) {
  if (samples.empty()) return 0.0;
  const size_t middle = samples.size() / 2;
  std::nth_element(samples.begin(), samples.begin() + middle, samples.end());
  const double upper = samples[middle];
  if (samples.size() % 2 == 1) return upper;
  const double lower = *std::max_element(samples.begin(), samples.begin() + middle);
  return (lower + upper) / 2;
}

}  // namespace kachi
