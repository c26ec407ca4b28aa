// main() for single-process GoogleTest binaries (replaces GTest::gtest_main): runs the tests and exits 1 on a
// failure, 77 when a GPU test was skipped for want of a device and nothing failed (ctest reports "Skipped" through
// SKIP_RETURN_CODE 77), 0 otherwise. See tests/gpu_skip.h.
#include <cstdio>

#include "gtest/gtest.h"
#include "tests/gpu_skip.h"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  auto* counter = new ::kachi::testing::GpuSkipCounter();  // owned by gtest's listener list
  ::testing::UnitTest::GetInstance()->listeners().Append(counter);
  const bool failed = RUN_ALL_TESTS() != 0;
  return ::kachi::testing::GpuAwareExitCode(failed, counter->skipped());
}
