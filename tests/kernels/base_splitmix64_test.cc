// kernels/base/splitmix64.h: the first outputs of the reference SplitMix64 generator from state 0 (Vigna's
// splitmix64.c: state += gamma, then the finalizer), pinned so that no caller's seeded stream can change, and the
// finalizer as SplitMix64 without its increment, on fresh random inputs.
#include "kernels/base/splitmix64.h"

#include <random>

#include "gtest/gtest.h"

namespace kachi::base {
namespace {

static_assert(SplitMix64(0) == 0xE220A8397B1DCDAFull, "SplitMix64 is usable in constant expressions");

TEST(SplitMix64Test, MatchesTheReferenceSequenceFromStateZero) {
  const uint64_t expected[] = {0xE220A8397B1DCDAFull, 0x6E789E6AA1B965F4ull, 0x06C45D188009454Full};
  uint64_t state = 0;
  for (uint64_t value : expected) {
    EXPECT_EQ(SplitMix64(state), value);
    state += kSplitMix64Gamma;
  }
}

TEST(SplitMix64Test, IsTheFinalizerOfTheIncrementedInput) {
  std::mt19937_64 generator(std::random_device{}());
  for (int i = 0; i < 1000; ++i) {
    const uint64_t x = generator();
    EXPECT_EQ(SplitMix64(x), SplitMix64Finalizer(x + kSplitMix64Gamma)) << x;
  }
}

}  // namespace
}  // namespace kachi::base
