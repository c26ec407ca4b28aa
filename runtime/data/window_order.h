// The order in which an epoch visits the training windows: a seeded permutation per (seed, epoch), identical on
// every platform and standard library (SplitMix64 seeding, std::mt19937_64, rejection-sampled Fisher-Yates; no
// std::shuffle or std::uniform_int_distribution, whose outputs are implementation-defined).
#ifndef KACHI_RUNTIME_DATA_WINDOW_ORDER_H_
#define KACHI_RUNTIME_DATA_WINDOW_ORDER_H_

#include <cstdint>
#include <vector>

namespace kachi {

// The generator seed of epoch `epoch` under the run seed `seed` (distinct epochs get unrelated streams).
uint64_t EpochSeed(uint64_t seed, int64_t epoch);

// A permutation of [0, num_windows) for the given seed and epoch; num_windows must fit in uint32.
std::vector<uint32_t> EpochPermutation(uint64_t seed, int64_t epoch, int64_t num_windows);

}  // namespace kachi

#endif  // KACHI_RUNTIME_DATA_WINDOW_ORDER_H_
