// Policy quality (issue 18): the reference stopping-based ASHA (Syne Tune's rung rule, its stopping), runners-up
// promoted onto idle cards, warmup grace, and on seeded curve families kachi's policy choosing the true best lane at
// least as often as the reference with no more regret (and final-loss prediction saving GPU-hours without losing
// either).
#include <cmath>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "launcher/lanes/curve_families.h"
#include "launcher/lanes/policy.h"
#include "launcher/lanes/quality.h"
#include "launcher/lanes/stopping_asha.h"
#include "tests/test_util.h"

namespace kachi::lanes {
namespace {

TEST(LanePolicyQualityTest, RungRuleIsSyneTunes) {
  // Syne Tune's Bracket.on_result: rank = searchsorted(sorted(all), loss) / len(all) (all = the rung's losses with
  // this one), stop when rank > 1/eta. With eta 3: the 2nd best of 3 continues (1/3), the 2nd of 2 stops (1/2), the
  // 3rd of 7 continues (2/7), the 4th of 7 stops (3/7); ties count as no better; the first at a rung continues.
  EXPECT_TRUE(ContinuesAtRung({5.0, 4.0, 6.0}, 5.0, 3));
  EXPECT_FALSE(ContinuesAtRung({4.0, 5.0}, 5.0, 3));
  EXPECT_TRUE(ContinuesAtRung({1, 2, 3, 4, 5, 6, 3}, 3, 3));
  EXPECT_FALSE(ContinuesAtRung({1, 2, 3, 4, 5, 6, 4}, 4, 3));
  EXPECT_TRUE(ContinuesAtRung({2.0, 2.0, 2.0}, 2.0, 3));
  const std::vector<float> r = ::kachi::testing::RandomFloats(1, 21, 0.0f, 5.0f);
  EXPECT_TRUE(ContinuesAtRung({r[0]}, r[0], 3));
}

TEST(LanePolicyQualityTest, StoppingAshaStopsWorseLanesAtOnce) {
  // Three lanes on one card, rungs at 10 and 30 below 90, eta 3: lane 0 (first at each rung) always continues;
  // lane 1 is worse at rung 10 and stops there; lane 2 is best and finishes too.
  SimulationInput input;
  input.pool = PoolShape{1, 1};
  input.options.max_steps = 90;
  input.options.min_steps = 10;
  input.options.eta = 3;
  input.timing.checkpoint_s = 0;
  std::vector<SyntheticCurve> curves = {SyntheticCurve(2.0, 1.0, 0.5, 0, -1, 1),
                                        SyntheticCurve(2.5, 1.0, 0.5, 0, -1, 2),
                                        SyntheticCurve(1.5, 1.0, 0.5, 0, -1, 3)};
  for (int i = 0; i < 3; ++i) {
    input.lanes.push_back(LaneSpec{});
    input.curves.push_back(&curves[i]);
  }
  absl::StatusOr<SimulationResult> result = SimulateStoppingAsha(input);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->finishes, 2);
  EXPECT_EQ(result->stops, 1);
  ASSERT_TRUE(result->best_lane.has_value());
  EXPECT_EQ(*result->best_lane, 2);
  EXPECT_DOUBLE_EQ(result->makespan_s, 90 + 10 + 90) << "one card, lanes back to back, lane 1 stopped at step 10";
}

PolicyOptions SmallOptions(int eta, bool runners_up) {
  PolicyOptions options;
  options.max_steps = 90;
  options.min_steps = 10;
  options.eta = eta;
  options.widen = false;
  options.promote_runners_up = runners_up;
  options.runner_up_extra = 1;
  return options;
}

bool Promoted(const std::vector<Decision>& decisions, int lane) {
  for (const Decision& d : decisions) {
    if (d.kind == DecisionKind::kPromote && d.lane == lane) return true;
  }
  return false;
}

TEST(LanePolicyQualityTest, WarmupGrace) {
  // 4 lanes, 2 cards, rungs at 10, 20, 40, 80 below 90, eta 2. Lane 3 warms up for 20 steps: not judged at rung 10.
  std::vector<LaneSpec> lanes(4);
  lanes[3].grace_steps = 20;
  LanePolicy policy = *LanePolicy::Create(PoolShape{2, 2}, SmallOptions(2, false), lanes);
  policy.Decide();  // lanes 0 and 1 start
  ASSERT_TRUE(policy.OnRungReached(0, 10, 3.0, 1).ok());
  ASSERT_TRUE(policy.OnRungReached(1, 10, 2.0, 1).ok());
  policy.Decide();  // lane 1 promoted, lane 0 paused; lanes 1 and 2 run
  ASSERT_TRUE(policy.OnRungReached(2, 10, 2.5, 2).ok());
  policy.Decide();  // lane 2 paused; lane 3 starts
  ASSERT_TRUE(policy.OnRungReached(3, 10, 9.0, 3).ok());  // the worst loss, but in its warmup
  EXPECT_TRUE(Promoted(policy.Decide(), 3)) << "a lane in its warmup is promoted at the rung";
  // Without grace the same worst report is paused.
  lanes[3].grace_steps = 0;
  LanePolicy strict = *LanePolicy::Create(PoolShape{2, 2}, SmallOptions(2, false), lanes);
  strict.Decide();
  ASSERT_TRUE(strict.OnRungReached(0, 10, 3.0, 1).ok());
  ASSERT_TRUE(strict.OnRungReached(1, 10, 2.0, 1).ok());
  strict.Decide();
  ASSERT_TRUE(strict.OnRungReached(2, 10, 2.5, 2).ok());
  strict.Decide();
  ASSERT_TRUE(strict.OnRungReached(3, 10, 9.0, 3).ok());
  EXPECT_FALSE(Promoted(strict.Decide(), 3));
}

TEST(LanePolicyQualityTest, RunnersUpTakeIdleCardsInsteadOfWaiting) {
  // 3 lanes on 3 cards, eta 3: the first lane at rung 10 is alone there (quota 0) and, in promotion ASHA, waits
  // paused with its card idle. With runners-up it is promoted onto that card while the others still run.
  for (bool runners_up : {false, true}) {
    LanePolicy policy = *LanePolicy::Create(PoolShape{3, 3}, SmallOptions(3, runners_up), std::vector<LaneSpec>(3));
    policy.Decide();
    ASSERT_TRUE(policy.OnRungReached(0, 10, 1.0, 1).ok());
    const std::vector<Decision> decisions = policy.Decide();
    EXPECT_EQ(Promoted(decisions, 0), runners_up);
    EXPECT_EQ(policy.pool().free_cards(), runners_up ? 0 : 1);
  }
}

TEST(LanePolicyQualityTest, KachiChoosesTheBestAtLeastAsOftenAsStoppingAsha) {
  QualitySpec spec;
  spec.seeds = 8;
  spec.families = {"powerlaw", "warmup-heavy"};
  spec.options.max_steps = 8100;
  spec.options.min_steps = 100;
  spec.options.eta = 3;
  spec.options.widen_min_remaining_steps = 50;
  spec.timing.chunk_steps = 100;
  absl::StatusOr<std::vector<QualityCell>> cells = MeasureQuality(spec);
  ASSERT_TRUE(cells.ok()) << cells.status();
  std::printf("%s", FormatQuality(*cells, spec).c_str());
  for (const std::string& family : spec.families) {
    const QualityCell *kachi = nullptr, *ref = nullptr, *split = nullptr, *no_predict = nullptr;
    for (const QualityCell& c : *cells) {
      if (c.family != family) continue;
      if (c.policy == "kachi") kachi = &c;
      if (c.policy == "kachi-no-predict") no_predict = &c;
      if (c.policy == "stop-asha") ref = &c;
      if (c.policy == "equal-split") split = &c;
    }
    ASSERT_TRUE(kachi && ref && split && no_predict);
    EXPECT_DOUBLE_EQ(split->p_best, 1.0) << family << ": equal split trains every lane, so it defines the best";
    EXPECT_GE(kachi->p_best, ref->p_best) << family;
    EXPECT_LE(kachi->regret, ref->regret + 1e-12) << family;
    // Final-loss prediction (predict_final, on by default; bench/RESULTS.md 2026-12-04): over 40 seeds the same
    // P(true best) and regret or better than without it, at 1-12% fewer pool GPU-hours (powerlaw 22.7 vs 23.2,
    // warmup-heavy 55.3 vs 63.1). On these 8 seeds: powerlaw 23.0 vs 23.0 GPU-h (0.57x stop-asha's 40.3),
    // warmup-heavy 57.0 vs 65.7 (1.47x stop-asha's 38.8); the bounds below leave ~10% of room.
    EXPECT_GE(kachi->p_best, no_predict->p_best) << family;
    EXPECT_LE(kachi->regret, no_predict->regret + 1e-12) << family;
    EXPECT_LE(kachi->pool_gpu_h, no_predict->pool_gpu_h) << family;
    EXPECT_LE(kachi->pool_gpu_h, (family == "warmup-heavy" ? 1.6 : 0.65) * ref->pool_gpu_h) << family;
  }
}

TEST(LanePolicyQualityTest, PredictedFinalLossOverridesTheRungRanking) {
  // 3 lanes on 3 cards, rungs at 100 and 300 below 900, eta 3 (one promotion per 3 reports). Lane 0 leads at
  // rung 100 (2.90) but flattens (2.4 + 2 t^-0.3, final 2.66); lane 1 trails (3.00) but falls steeply (1.8 + 12 t^-0.5,
  // final 2.20); lane 2 is worst (3.5 + t^-0.5). By the loss at the rung lane 0 goes on; by prediction lane 1 does
  // and lanes 0 and 2 are paused as "predicted".
  auto loss = [](int lane, double t) {
    if (lane == 0) return 2.4 + 2 * std::pow(t, -0.3);
    if (lane == 1) return 1.8 + 12 / std::sqrt(t);
    return 3.5 + 1 / std::sqrt(t);
  };
  for (bool predict : {false, true}) {
    SCOPED_TRACE(predict ? "predict_final" : "loss at the rung");
    PolicyOptions options = SmallOptions(3, false);
    options.max_steps = 900;
    options.min_steps = 100;
    options.predict_final = predict;
    LanePolicy policy = *LanePolicy::Create(PoolShape{3, 3}, options, std::vector<LaneSpec>(3));
    policy.Decide();  // all three start
    double now = 0;
    for (int64_t step : {20, 40, 60, 80}) {
      now += 1;
      std::vector<LaneProgress> progress;
      for (int lane = 0; lane < 3; ++lane) progress.push_back(LaneProgress{lane, step, loss(lane, step)});
      ASSERT_TRUE(policy.OnTick(now, progress).ok());
      policy.Decide();
    }
    for (int lane = 0; lane < 3; ++lane) ASSERT_TRUE(policy.OnRungReached(lane, 100, loss(lane, 100), 10).ok());
    const std::vector<Decision> decisions = policy.Decide();
    EXPECT_EQ(Promoted(decisions, 0), !predict);
    EXPECT_EQ(Promoted(decisions, 1), predict);
    EXPECT_FALSE(Promoted(decisions, 2));
    for (const Decision& d : decisions) {
      if (d.kind == DecisionKind::kPause) EXPECT_EQ(d.reason, predict ? "predicted" : "") << "lane " << d.lane;
    }
  }
}

}  // namespace
}  // namespace kachi::lanes
