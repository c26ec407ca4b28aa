// CounterRng: a stateless random generator whose n-th draw depends only on (seed, stream name, n), so a tensor's
// element gets the same initial value on whichever rank and shard holds it.
#ifndef KACHI_RUNTIME_MODEL_COUNTER_RNG_H_
#define KACHI_RUNTIME_MODEL_COUNTER_RNG_H_

#include <cmath>
#include <cstdint>
#include <string_view>

#include "kernels/base/splitmix64.h"

namespace kachi {

// Counter-based generator (splitmix64 finalizer over seed, stream and counter).
class CounterRng {
 public:
  CounterRng(uint64_t seed, std::string_view stream) : key_(base::SplitMix64Finalizer(seed ^ Hash(stream))) {}

  // 64 random bits for counter n.
  uint64_t Bits(uint64_t n) const { return base::SplitMix64Finalizer(key_ + base::kSplitMix64Gamma * (n + 1)); }
  // Uniform in (0, 1) for counter n.
  double Uniform(uint64_t n) const { return (static_cast<double>(Bits(n) >> 11) + 0.5) * 0x1p-53; }
  // Standard normal for counter n (Box-Muller on two independent uniforms).
  float Normal(uint64_t n) const {
    const double u1 = Uniform(2 * n), u2 = Uniform(2 * n + 1);
    return static_cast<float>(std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2));
  }

 private:
  static uint64_t Hash(std::string_view s) {  // FNV-1a
    uint64_t h = 0xCBF29CE484222325ull;
    for (unsigned char ch : s) h = (h ^ ch) * 0x100000001B3ull;
    return h;
  }
  uint64_t key_;
};

}  // namespace kachi

#endif  // KACHI_RUNTIME_MODEL_COUNTER_RNG_H_
