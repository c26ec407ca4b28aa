// SplitMix64 (Steele, Lea, Flood 2014): a bijective, well-mixed hash of 64 bits. The one copy for every layer's
// seeded, reproducible streams (data window order, comm bench input patterns, lanes synthetic curves, the model's
// counter-based initialization); tests compare values it produced, so its constants and shifts must never change.
#ifndef KACHI_KERNELS_BASE_SPLITMIX64_H_
#define KACHI_KERNELS_BASE_SPLITMIX64_H_

#include <cstdint>

namespace kachi::base {

// The golden-ratio increment SplitMix64 adds before mixing (also a good stride between counters).
inline constexpr uint64_t kSplitMix64Gamma = 0x9E3779B97F4A7C15ull;

// The finalizer alone: two xor-shift-multiply rounds and a final xor-shift (for callers that add their own
// increment, such as counter-based generators).
constexpr uint64_t SplitMix64Finalizer(uint64_t x) {
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// SplitMix64 of `x`: the finalizer of `x` plus the golden-ratio increment.
constexpr uint64_t SplitMix64(uint64_t x) { return SplitMix64Finalizer(x + kSplitMix64Gamma); }

}  // namespace kachi::base

#endif  // KACHI_KERNELS_BASE_SPLITMIX64_H_
