// Seeded per-epoch window permutations (see window_order.h).
#include "runtime/data/window_order.h"

#include <cassert>
#include <limits>
#include <numeric>
#include <random>
#include <utility>

#include "kernels/base/splitmix64.h"

namespace kachi {
namespace {

using base::SplitMix64;

// Uniform integer in [0, bound) by rejection (unbiased and portable).
uint64_t UniformBelow(std::mt19937_64& generator, uint64_t bound) {
  const uint64_t limit = std::numeric_limits<uint64_t>::max() - std::numeric_limits<uint64_t>::max() % bound;
  uint64_t value;
  do {
    value = generator();
  } while (value >= limit);
  return value % bound;
}

}  // namespace

uint64_t EpochSeed(uint64_t seed, int64_t epoch) { return SplitMix64(SplitMix64(seed) ^ static_cast<uint64_t>(epoch)); }

std::vector<uint32_t> EpochPermutation(uint64_t seed, int64_t epoch, int64_t num_windows) {
  assert(num_windows >= 0 && num_windows <= std::numeric_limits<uint32_t>::max());
  std::vector<uint32_t> order(static_cast<size_t>(num_windows));
  std::iota(order.begin(), order.end(), 0u);
  std::mt19937_64 generator(EpochSeed(seed, epoch));
  for (size_t i = order.size(); i > 1; --i) {
    std::swap(order[i - 1], order[UniformBelow(generator, i)]);
  }
  return order;
}

}  // namespace kachi
