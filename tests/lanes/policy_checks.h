// Test helpers for the lane policy: invariants every state after Decide() must satisfy, and a seeded random
// executor that drives a policy with rung reports, progress, NaNs and failures.
#ifndef KACHI_TESTS_LANES_POLICY_CHECKS_H_
#define KACHI_TESTS_LANES_POLICY_CHECKS_H_

#include <cmath>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "launcher/lanes/policy.h"

namespace kachi::lanes::testing {

// Checks, after Decide(): card ownership matches the lanes' cards; running lanes hold an allowed width made of
// whole gangs inside one node; no lane awaits a verdict; no runnable lane could start on the free cards; and with
// widening on and nobody waiting, no running lane that may widen could take a larger allowed width.
inline void ExpectPolicyInvariants(const LanePolicy& policy) {
  const PoolShape& shape = policy.pool().shape();
  std::vector<int> owner(shape.cards, CardPool::kFree);
  bool anyone_waiting = false;
  for (int lane = 0; lane < policy.lane_count(); ++lane) {
    const LaneStatus& s = policy.status(lane);
    const LaneSpec& spec = policy.specs()[lane];
    EXPECT_NE(s.state, LaneState::kAtRung) << "lane " << lane << " still awaits a verdict after Decide()";
    anyone_waiting = anyone_waiting || s.state == LaneState::kWaiting;
    if (s.state != LaneState::kRunning) {
      EXPECT_TRUE(s.cards.empty()) << "lane " << lane << " is " << LaneStateName(s.state) << " but holds cards";
      continue;
    }
    const std::vector<int> allowed = AllowedWidths(spec, shape);
    ASSERT_EQ(s.cards.size() % spec.tp, 0u) << "lane " << lane;
    const int width = static_cast<int>(s.cards.size()) / spec.tp;
    EXPECT_NE(std::find(allowed.begin(), allowed.end(), width), allowed.end())
        << "lane " << lane << " runs at width " << width << ", not an allowed width";
    for (int gang = 0; gang < width; ++gang) {
      const int node = shape.NodeOf(s.cards[gang * spec.tp]);
      for (int i = 0; i < spec.tp; ++i) {
        EXPECT_EQ(shape.NodeOf(s.cards[gang * spec.tp + i]), node) << "lane " << lane << " gang " << gang
                                                                    << " spans nodes";
      }
    }
    for (int card : s.cards) {
      ASSERT_GE(card, 0);
      ASSERT_LT(card, shape.cards);
      EXPECT_EQ(owner[card], CardPool::kFree) << "card " << card << " held twice";
      owner[card] = lane;
    }
  }
  for (int card = 0; card < shape.cards; ++card) {
    EXPECT_EQ(policy.pool().OwnerOf(card), owner[card]) << "card " << card << ": pool and lanes disagree";
  }
  for (int lane = 0; lane < policy.lane_count(); ++lane) {
    const LaneStatus& s = policy.status(lane);
    const LaneSpec& spec = policy.specs()[lane];
    const std::vector<int> allowed = AllowedWidths(spec, shape);
    if (s.state == LaneState::kWaiting) {
      EXPECT_TRUE(policy.pool().FindGangs(allowed.front(), spec.tp, {}).empty())
          << "lane " << lane << " waits although the free cards hold its minimum width";
    }
    if (s.state == LaneState::kRunning && policy.options().widen && !anyone_waiting &&
        policy.Targets()[s.target] - s.progress_step >= policy.options().widen_min_remaining_steps) {
      const int width = static_cast<int>(s.cards.size()) / spec.tp;
      for (int candidate : allowed) {
        if (candidate <= width) continue;
        EXPECT_TRUE(policy.pool().FindGangs(candidate - width, spec.tp, s.cards).empty())
            << "lane " << lane << " could widen from " << width << " to " << candidate << " on free cards";
      }
    }
  }
}

// Drives `policy` to the end with seeded random events: mostly rung reports with loss a_lane + 1/sqrt(step) +
// noise, some progress ticks, some NaN losses and failures. Checks the invariants after every Decide() and returns
// every decision described, in order.
inline std::vector<std::string> DriveRandomly(LanePolicy* policy, uint64_t seed, double nan_rate = 0.03,
                                              double failure_rate = 0.02) {
  std::mt19937_64 gen(seed);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::vector<double> quality(policy->lane_count());
  for (double& q : quality) q = 2.0 + unit(gen);
  std::vector<std::string> log;
  auto decide = [&] {
    for (const Decision& d : policy->Decide()) log.push_back(DescribeDecision(d, policy->specs()[d.lane].name));
    ExpectPolicyInvariants(*policy);
  };
  decide();
  double now = 0;
  for (int event = 0; event < 100000 && !policy->Done(); ++event) {
    std::vector<int> running;
    for (int lane = 0; lane < policy->lane_count(); ++lane) {
      if (policy->status(lane).state == LaneState::kRunning) running.push_back(lane);
    }
    if (running.empty()) {
      ADD_FAILURE() << "policy not done but no lane runs (stall) after " << event << " events";
      break;
    }
    const int lane = running[gen() % running.size()];
    const LaneStatus& s = policy->status(lane);
    const int64_t target = policy->Targets()[s.target];
    now += unit(gen);
    const double r = unit(gen);
    absl::Status status;
    if (r < failure_rate) {
      status = policy->OnFailure(lane, "simulated rank failure", now);
    } else if (r < failure_rate + nan_rate) {
      status = policy->OnTick(now, {LaneProgress{lane, s.checkpoint_step, std::nan("")}});
    } else if (r < 0.3) {
      const int64_t step = s.checkpoint_step + static_cast<int64_t>(unit(gen) * (target - s.checkpoint_step));
      status = policy->OnTick(now, {LaneProgress{lane, step, quality[lane] + 1.0 / std::sqrt(step + 1.0)}});
    } else {
      status = policy->OnRungReached(lane, target, quality[lane] + 1.0 / std::sqrt(target) + 0.01 * unit(gen), now);
    }
    EXPECT_TRUE(status.ok()) << status;
    decide();
  }
  EXPECT_TRUE(policy->Done());
  return log;
}

}  // namespace kachi::lanes::testing

#endif  // KACHI_TESTS_LANES_POLICY_CHECKS_H_
