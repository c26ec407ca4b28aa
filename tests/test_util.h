// Helpers shared by tests: deterministic random fill (never zeros) and the GPU skip guard (tests/gpu_skip.h).
#ifndef KACHI_TESTS_TEST_UTIL_H_
#define KACHI_TESTS_TEST_UTIL_H_

#include <cstdint>
#include <random>
#include <vector>

#include "gtest/gtest.h"
#include "tests/gpu_skip.h"

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

// Skips the current test with a clear message when no CUDA device is usable, recording kGpuSkipProperty so that the
// gtest main exits 77 (ctest: "Skipped"); with KACHI_REQUIRE_GPU=1 (the GPU machine's check) it fails instead.
#define KACHI_SKIP_WITHOUT_GPU()                                                                          \
  do {                                                                                                   \
    if (::kachi::testing::CudaDeviceCount() == 0) {                                                      \
      if (::kachi::testing::GpuRequired()) {                                                             \
        GTEST_FAIL() << "KACHI_REQUIRE_GPU is set but no CUDA device is usable: GPU test failed";        \
      }                                                                                                  \
      ::testing::Test::RecordProperty(::kachi::testing::kGpuSkipProperty, 1);                           \
      GTEST_SKIP() << "no CUDA device (cudaGetDeviceCount failed or CPU-only build): GPU test skipped";   \
    }                                                                                                    \
  } while (0)

// Skips (recording kGpuSkipProperty) when fewer than `n` CUDA devices are usable, e.g. a test wanting one GPU per
// rank on a one-GPU machine; it fails instead only when KACHI_REQUIRE_GPU (a count: "1" = one GPU) is at least `n`.
#define KACHI_SKIP_WITHOUT_GPUS(n)                                                                        \
  do {                                                                                                   \
    const int kachi_want_gpus = (n);                                                                     \
    const int kachi_have_gpus = ::kachi::testing::CudaDeviceCount();                                     \
    if (kachi_have_gpus < kachi_want_gpus) {                                                             \
      if (::kachi::testing::RequiredGpuCount() >= kachi_want_gpus) {                                     \
        GTEST_FAIL() << "KACHI_REQUIRE_GPU=" << ::kachi::testing::RequiredGpuCount() << " but only "      \
                     << kachi_have_gpus << " CUDA device(s) for " << kachi_want_gpus << ": GPU test failed"; \
      }                                                                                                  \
      ::testing::Test::RecordProperty(::kachi::testing::kGpuSkipProperty, 1);                           \
      GTEST_SKIP() << "needs " << kachi_want_gpus << " CUDA devices, " << kachi_have_gpus                 \
                   << " usable: GPU test skipped";                                                       \
    }                                                                                                    \
  } while (0)

#endif  // KACHI_TESTS_TEST_UTIL_H_
