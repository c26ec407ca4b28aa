// SplitMix64's finalizer (Steele, Lea, Flood 2014): a bijective, well-mixed hash of 64 bits. The one copy for
// every layer's seeded, reproducible streams (data window order, comm bench input patterns, lanes synthetic
// curves); tests compare values it produced, so its constants and shifts must never change.
#ifndef KACHI_KERNELS_BASE_SPLITMIX64_H_
#define KACHI_KERNELS_BASE_SPLITMIX64_H_

#include <cstdint>

namespace kachi::base {

// SplitMix64 of `x`: adds the golden-ratio increment, then two xor-shift-multiply rounds and a final xor-shift.
constexpr uint64_t SplitMix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

}  // namespace kachi::base

#endif  // KACHI_KERNELS_BASE_SPLITMIX64_H_
