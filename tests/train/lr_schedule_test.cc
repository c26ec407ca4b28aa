// Tests for the warmup + cosine learning-rate schedule.
#include "runtime/train/lr_schedule.h"

#include "gtest/gtest.h"

namespace kachi {
namespace {

TEST(LrScheduleTest, WarmupThenCosineToFloor) {
  LrSchedule s{/*peak_lr=*/1e-3, /*warmup_steps=*/4, /*total_steps=*/14, /*min_lr_fraction=*/0.1};
  EXPECT_DOUBLE_EQ(s.At(0), 0.25e-3);
  EXPECT_DOUBLE_EQ(s.At(3), 1e-3);
  EXPECT_DOUBLE_EQ(s.At(4), 1e-3);              // cosine starts at the peak
  EXPECT_NEAR(s.At(13), 1e-4, 1e-12);           // and ends at the floor on the last step
  EXPECT_NEAR(s.At(100), 1e-4, 1e-12);          // held beyond
  EXPECT_NEAR(s.At(4 + 9 / 2.0), 0.55e-3, 1e-4);  // mid-way roughly halfway
  for (int step = 4; step < 13; ++step) EXPECT_GT(s.At(step), s.At(step + 1));
}

TEST(LrScheduleTest, NoWarmup) {
  LrSchedule s{2e-3, 0, 10, 0.0};
  EXPECT_DOUBLE_EQ(s.At(0), 2e-3);
  EXPECT_NEAR(s.At(9), 0.0, 1e-15);
}

}  // namespace
}  // namespace kachi
