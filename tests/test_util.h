// Helpers shared by tests: deterministic random fill (never zeros) and the GPU skip guard.
#ifndef KACHI_TESTS_TEST_UTIL_H_
#define KACHI_TESTS_TEST_UTIL_H_

#include <cstdint>
#include <random>
#include <vector>

#include "gtest/gtest.h"

#ifdef KACHI_WITH_CUDA
#include <cuda_runtime.h>
#endif

namespace kachi::testing {

// `n` floats uniform in [lo, hi), from a seeded generator (fresh inputs per seed).
inline std::vector<float> RandomFloats(size_t n, uint64_t seed, float lo = -1.0f, float hi = 1.0f) {
  std::mt19937_64 gen(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> out(n);
  for (auto& v : out) v = dist(gen);
  return out;
}

// Number of usable CUDA devices; 0 in CPU-only builds or when cudaGetDeviceCount fails.
inline int CudaDeviceCount() {
#ifdef KACHI_WITH_CUDA
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    cudaGetLastError();
    return 0;
  }
  return count;
#else
  return 0;
#endif
}

}  // namespace kachi::testing

// Skips the current test with a clear message when no CUDA device is usable.
#define KACHI_SKIP_WITHOUT_GPU()                                                                        \
  do {                                                                                                 \
    if (::kachi::testing::CudaDeviceCount() == 0) {                                                    \
      GTEST_SKIP() << "no CUDA device (cudaGetDeviceCount failed or CPU-only build): GPU test skipped"; \
    }                                                                                                  \
  } while (0)

#endif  // KACHI_TESTS_TEST_UTIL_H_
