// What a GPU test's skip means to ctest: the property a test records when it skips for want of a GPU, whether
// KACHI_REQUIRE_GPU=1 turns that skip into a failure, and the listener the gtest mains use to exit 77 (ctest's
// SKIP_RETURN_CODE: "Skipped", never "Passed") when a binary skipped a GPU test and nothing failed.
#ifndef KACHI_TESTS_GPU_SKIP_H_
#define KACHI_TESTS_GPU_SKIP_H_

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "gtest/gtest.h"

namespace kachi::testing {

// Test property recorded by KACHI_SKIP_WITHOUT_GPU (tests/test_util.h) when it skips.
inline constexpr char kGpuSkipProperty[] = "kachi_gpu_skipped";

// Exit code of a test binary that skipped a GPU test and had no failure; ctest maps it to "Skipped".
inline constexpr int kSkipExitCode = 77;

// KACHI_REQUIRE_GPU as a count of GPUs the machine is known to have (unset, "" or "0": 0; a non-number: 1). With
// a count >= 1 a GPU test finding no device fails instead of skipping; KACHI_SKIP_WITHOUT_GPUS(n) fails when n <= it.
inline int RequiredGpuCount() {
  const char* v = std::getenv("KACHI_REQUIRE_GPU");
  if (v == nullptr || v[0] == '\0') return 0;
  char* end = nullptr;
  const long n = std::strtol(v, &end, 10);
  if (end == v || *end != '\0') return 1;
  return n < 0 ? 0 : static_cast<int>(n);
}

// True when KACHI_REQUIRE_GPU asks for at least one GPU: a GPU test without a GPU then fails.
inline bool GpuRequired() { return RequiredGpuCount() >= 1; }

// Counts the tests (and suite-level set-ups) that recorded kGpuSkipProperty.
class GpuSkipCounter : public ::testing::EmptyTestEventListener {
 public:
  void OnTestEnd(const ::testing::TestInfo& info) override { Count(*info.result()); }
  void OnTestSuiteEnd(const ::testing::TestSuite& suite) override { Count(suite.ad_hoc_test_result()); }
  int skipped() const { return skipped_; }

 private:
  void Count(const ::testing::TestResult& result) {
    for (int i = 0; i < result.test_property_count(); ++i) {
      if (std::strcmp(result.GetTestProperty(i).key(), kGpuSkipProperty) == 0) {
        ++skipped_;
        return;
      }
    }
  }
  int skipped_ = 0;
};

// The binary's exit code: 1 if a test failed, else 77 if a GPU test was skipped (even when other tests passed:
// the binary did not check what it exists for), else 0. Prints why when it is 77.
inline int GpuAwareExitCode(bool failed, int gpu_skipped) {
  if (failed) return 1;
  if (gpu_skipped == 0) return 0;
  std::fprintf(stderr,
               "kachi: %d test(s) skipped for want of a CUDA device: exit %d (ctest: Skipped; "
               "KACHI_REQUIRE_GPU=1 makes them fail)\n",
               gpu_skipped, kSkipExitCode);
  return kSkipExitCode;
}

}  // namespace kachi::testing

#endif  // KACHI_TESTS_GPU_SKIP_H_
