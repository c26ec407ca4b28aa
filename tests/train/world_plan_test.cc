// PlanWorld (runtime/train/world_plan.h): the largest layout that fits the hosts left, TP kept inside a host, the
// global batch kept through the micro-batch; against a brute-force search over every (dp, micro_batch) on seeded
// random inputs.
#include "runtime/train/world_plan.h"

#include <gtest/gtest.h>

#include <random>

namespace kachi {
namespace {

TEST(WorldPlanTest, FourHostsOfTwoLosingOneThenTwo) {
  WorldPlanInput input{4, 2, 2, 16, 4, 0};
  auto plan = PlanWorld(input);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->ranks, 8);
  EXPECT_EQ(plan->dp, 4);
  EXPECT_EQ(plan->micro_batch, 4);
  input.hosts = 3;  // dp 3 does not divide 16: dp 2 on 2 of the 3 hosts
  plan = PlanWorld(input);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->dp, 2);
  EXPECT_EQ(plan->hosts, 2);
  input = WorldPlanInput{3, 2, 1, 24, 4, 0};  // tp 1: 6 ranks, dp 6, micro 4 (24 = 4 x 6)
  plan = PlanWorld(input);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->ranks, 6);
  EXPECT_EQ(plan->micro_batch, 4);
  input = WorldPlanInput{3, 2, 1, 16, 4, 0};  // dp 6 and 5 do not divide 16: dp 4, micro 4
  plan = PlanWorld(input);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->dp, 4);
  EXPECT_EQ(plan->micro_batch, 4);
  EXPECT_EQ(plan->hosts, 2);
}

TEST(WorldPlanTest, RefusesWhatCannotFit) {
  EXPECT_FALSE(PlanWorld({0, 2, 1, 16, 4, 0}).ok());   // no host
  EXPECT_FALSE(PlanWorld({2, 2, 4, 16, 4, 0}).ok());   // tp larger than a host
  EXPECT_FALSE(PlanWorld({2, 3, 2, 16, 4, 0}).ok());   // tp does not divide a host
  EXPECT_FALSE(PlanWorld({2, 2, 1, -16, 4, 0}).ok());  // negative batch
}

TEST(WorldPlanTest, MatchesBruteForceOnRandomInputs) {
  std::mt19937 gen(20261203);
  for (int trial = 0; trial < 2000; ++trial) {
    WorldPlanInput input;
    input.hosts = 1 + static_cast<int>(gen() % 8);
    const int tps[] = {1, 2, 4};
    input.tp = tps[gen() % 3];
    input.ranks_per_host = input.tp * (1 + static_cast<int>(gen() % 4));
    input.global_batch = 1 + static_cast<int>(gen() % 64);
    input.micro_batch = 1 + static_cast<int>(gen() % 16);
    input.eval_windows = gen() % 2 ? 0 : 1 + static_cast<int>(gen() % 64);
    int best_dp = 0, best_micro = 0;
    for (int dp = 1; dp * input.tp <= input.hosts * input.ranks_per_host; ++dp) {
      for (int micro = 1; micro <= input.micro_batch; ++micro) {
        if (input.global_batch % (micro * dp) != 0) continue;
        if (input.eval_windows > 0 && input.eval_windows % (micro * dp) != 0) continue;
        if (dp > best_dp || (dp == best_dp && micro > best_micro)) best_dp = dp, best_micro = micro;
      }
    }
    auto plan = PlanWorld(input);
    if (best_dp == 0) {
      EXPECT_FALSE(plan.ok()) << "trial " << trial;
      continue;
    }
    ASSERT_TRUE(plan.ok()) << "trial " << trial << ": " << plan.status();
    EXPECT_EQ(plan->dp, best_dp) << "trial " << trial;
    EXPECT_EQ(plan->micro_batch, best_micro) << "trial " << trial;
    EXPECT_EQ(plan->ranks, best_dp * input.tp);
    EXPECT_LE(plan->hosts, input.hosts);
    EXPECT_GE(plan->hosts * input.ranks_per_host, plan->ranks);
    EXPECT_EQ(input.global_batch % (plan->micro_batch * plan->dp), 0);
  }
}

}  // namespace
}  // namespace kachi
