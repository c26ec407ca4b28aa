// The lane policy: rungs, promotion as soon as enough lanes reported, pause without loss, closed rungs, NaN and
// failure stops, priorities and minimum cards, widening within max width and node-local gangs, shrinking for a
// runnable lane, invariants under random events, determinism, and errors.
#include "launcher/lanes/policy.h"

#include <algorithm>
#include <map>
#include <random>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/lanes/policy_checks.h"
#include "tests/test_util.h"

namespace kachi::lanes {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

PolicyOptions Options(int eta = 3, bool widen = false) {
  PolicyOptions options;
  options.max_steps = 8100;
  options.min_steps = 100;
  options.eta = eta;
  options.widen = widen;
  return options;
}

std::vector<LaneSpec> Lanes(int count) {
  std::vector<LaneSpec> lanes(count);
  for (int i = 0; i < count; ++i) lanes[i].name = "lane" + std::to_string(i);
  return lanes;
}

LanePolicy MakePolicy(PoolShape pool, PolicyOptions options, std::vector<LaneSpec> lanes) {
  absl::StatusOr<LanePolicy> policy = LanePolicy::Create(pool, options, std::move(lanes));
  EXPECT_TRUE(policy.ok()) << policy.status();
  return *std::move(policy);
}

// The decisions of `kind` among `decisions`, as lane indices.
std::vector<int> LanesOf(const std::vector<Decision>& decisions, DecisionKind kind) {
  std::vector<int> lanes;
  for (const Decision& d : decisions) {
    if (d.kind == kind) lanes.push_back(d.lane);
  }
  return lanes;
}

const Decision* Find(const std::vector<Decision>& decisions, DecisionKind kind, int lane) {
  for (const Decision& d : decisions) {
    if (d.kind == kind && d.lane == lane) return &d;
  }
  return nullptr;
}

TEST(LanePolicyTest, RungsAreMinStepsTimesEtaPowersBelowMaxSteps) {
  EXPECT_THAT(RungSteps(Options()), ElementsAre(100, 300, 900, 2700));
  PolicyOptions options = Options(4);
  options.max_steps = 1600;
  EXPECT_THAT(RungSteps(options), ElementsAre(100, 400));
  options.successive_halving = false;
  EXPECT_TRUE(RungSteps(options).empty());
  LanePolicy policy = MakePolicy({4, 4}, Options(), Lanes(2));
  EXPECT_THAT(policy.Targets(), ElementsAre(100, 300, 900, 2700, 8100));
}

TEST(LanePolicyTest, ReachingARungReleasesCardsAtOnce) {
  LanePolicy policy = MakePolicy({2, 2}, Options(), Lanes(3));
  EXPECT_THAT(LanesOf(policy.Decide(), DecisionKind::kStart), ElementsAre(0, 1));
  EXPECT_EQ(policy.pool().free_cards(), 0);
  const double loss = ::kachi::testing::RandomFloats(1, 11, 2.0f, 3.0f)[0];
  ASSERT_TRUE(policy.OnRungReached(1, 100, loss, 5.0).ok());
  EXPECT_EQ(policy.pool().free_cards(), 1) << "cards must be free before Decide() is even called";
  EXPECT_TRUE(policy.status(1).cards.empty());
  EXPECT_EQ(policy.status(1).checkpoint_step, 100);
  const std::vector<Decision> decisions = policy.Decide();
  EXPECT_THAT(LanesOf(decisions, DecisionKind::kPause), ElementsAre(1));
  const Decision* start = Find(decisions, DecisionKind::kStart, 2);
  ASSERT_NE(start, nullptr);
  EXPECT_EQ(start->cards, std::vector<int>{1}) << "lane 2 takes the card lane 1 gave back";
  EXPECT_DOUBLE_EQ(start->time_s, 5.0);
}

TEST(LanePolicyTest, PromotesTheBestAsSoonAsEtaLanesReported) {
  LanePolicy policy = MakePolicy({3, 3}, Options(), Lanes(9));
  EXPECT_THAT(LanesOf(policy.Decide(), DecisionKind::kStart), ElementsAre(0, 1, 2));
  const std::vector<float> losses = ::kachi::testing::RandomFloats(3, 23, 2.0f, 4.0f);
  ASSERT_TRUE(policy.OnRungReached(0, 100, losses[0], 1).ok());
  std::vector<Decision> d = policy.Decide();
  EXPECT_TRUE(LanesOf(d, DecisionKind::kPromote).empty()) << "1 report: floor(1/3) = 0 promotions";
  ASSERT_TRUE(policy.OnRungReached(1, 100, losses[1], 2).ok());
  d = policy.Decide();
  EXPECT_TRUE(LanesOf(d, DecisionKind::kPromote).empty()) << "2 reports: floor(2/3) = 0 promotions";
  ASSERT_TRUE(policy.OnRungReached(2, 100, losses[2], 3).ok());
  d = policy.Decide();
  const int best = static_cast<int>(std::min_element(losses.begin(), losses.end()) - losses.begin());
  EXPECT_THAT(LanesOf(d, DecisionKind::kPromote), ElementsAre(best))
      << "the third report makes floor(3/3) = 1 promotion while 6 lanes have not even started";
  const Decision* resume = Find(d, DecisionKind::kStart, best);
  ASSERT_NE(resume, nullptr) << "a promoted lane gets cards before fresh lanes";
  EXPECT_EQ(resume->step, 100);
  EXPECT_EQ(policy.status(best).target, 1);
}

TEST(LanePolicyTest, PausedLaneIsPromotedLaterWhenWorseReportsArrive) {
  LanePolicy policy = MakePolicy({1, 1}, Options(), Lanes(3));
  std::vector<float> losses = ::kachi::testing::RandomFloats(3, 37, 2.0f, 4.0f);
  std::sort(losses.begin(), losses.end());  // lane 0 reports the best loss, first
  policy.Decide();
  double now = 0;
  for (int lane = 0; lane < 3; ++lane) {
    ASSERT_EQ(policy.status(lane).state, LaneState::kRunning) << "lane " << lane;
    ASSERT_TRUE(policy.OnRungReached(lane, 100, losses[lane], now += 10).ok());
    const std::vector<Decision> d = policy.Decide();
    if (lane == 0) {
      EXPECT_THAT(LanesOf(d, DecisionKind::kPause), ElementsAre(0));
      EXPECT_EQ(policy.status(0).state, LaneState::kPaused);
      EXPECT_EQ(policy.status(0).checkpoint_step, 100) << "a paused lane keeps its checkpoint";
    }
    if (lane == 2) {
      EXPECT_THAT(LanesOf(d, DecisionKind::kPromote), ElementsAre(0));
      const Decision* resume = Find(d, DecisionKind::kStart, 0);
      ASSERT_NE(resume, nullptr);
      EXPECT_EQ(resume->step, 100) << "resumed from its rung checkpoint, not restarted";
    }
  }
}

TEST(LanePolicyTest, ClosedRungsPromoteAtLeastOneSoTheBestFinishes) {
  // Two lanes and eta 3: floor(2/3) = 0, but once no lane can reach a rung any more the best one continues.
  LanePolicy policy = MakePolicy({2, 2}, Options(), Lanes(2));
  const std::vector<float> quality = ::kachi::testing::RandomFloats(2, 41, 2.0f, 3.0f);
  policy.Decide();
  double now = 0;
  for (int round = 0; round < 20 && !policy.Done(); ++round) {
    for (int lane = 0; lane < 2; ++lane) {
      if (policy.status(lane).state != LaneState::kRunning) continue;
      const int64_t step = policy.Targets()[policy.status(lane).target];
      ASSERT_TRUE(policy.OnRungReached(lane, step, quality[lane] + 1.0 / step, now += 1).ok());
    }
    policy.Decide();
    testing::ExpectPolicyInvariants(policy);
  }
  ASSERT_TRUE(policy.Done());
  const int better = quality[0] < quality[1] ? 0 : 1;
  ASSERT_TRUE(policy.BestLane().has_value());
  EXPECT_EQ(*policy.BestLane(), better);
  EXPECT_EQ(policy.status(better).state, LaneState::kFinished);
  EXPECT_EQ(policy.status(1 - better).state, LaneState::kPaused) << "the other is paused, not lost";
  EXPECT_EQ(policy.status(1 - better).checkpoint_step, 100);
}

TEST(LanePolicyTest, NonFiniteLossesAndFailuresStopOnlyThatLane) {
  LanePolicy policy = MakePolicy({3, 3}, Options(), Lanes(5));
  EXPECT_THAT(LanesOf(policy.Decide(), DecisionKind::kStart), ElementsAre(0, 1, 2));
  ASSERT_TRUE(policy.OnRungReached(1, 100, std::nan(""), 1).ok());
  ASSERT_TRUE(policy.OnTick(2, {LaneProgress{0, 42, std::numeric_limits<double>::infinity()}}).ok());
  ASSERT_TRUE(policy.OnFailure(2, "rank 7 lost", 3).ok());
  const std::vector<Decision> d = policy.Decide();
  EXPECT_THAT(LanesOf(d, DecisionKind::kStop), ElementsAre(1, 0, 2));
  EXPECT_THAT(Find(d, DecisionKind::kStop, 0)->reason, HasSubstr("at step 42"));
  EXPECT_EQ(Find(d, DecisionKind::kStop, 2)->reason, "rank 7 lost");
  EXPECT_EQ(policy.status(2).stop_reason, "rank 7 lost");
  EXPECT_THAT(LanesOf(d, DecisionKind::kStart), ElementsAre(3, 4)) << "the job goes on with the other lanes";
  EXPECT_FALSE(policy.Done());
  for (int lane : {0, 1, 2}) EXPECT_EQ(policy.status(lane).state, LaneState::kStopped);
  testing::ExpectPolicyInvariants(policy);
}

TEST(LanePolicyTest, AFinalistThatFailsGivesItsPlaceToTheNextBest) {
  LanePolicy policy = MakePolicy({2, 2}, Options(), Lanes(2));
  std::vector<float> losses = ::kachi::testing::RandomFloats(2, 53, 2.0f, 4.0f);
  std::sort(losses.begin(), losses.end());
  policy.Decide();
  ASSERT_TRUE(policy.OnRungReached(0, 100, losses[0], 1).ok());
  ASSERT_TRUE(policy.OnRungReached(1, 100, losses[1], 1).ok());
  EXPECT_THAT(LanesOf(policy.Decide(), DecisionKind::kPromote), ElementsAre(0)) << "closed rung: the best continues";
  ASSERT_TRUE(policy.OnFailure(0, "out of memory", 2).ok());
  const std::vector<Decision> d = policy.Decide();
  EXPECT_THAT(LanesOf(d, DecisionKind::kStop), ElementsAre(0));
  EXPECT_THAT(LanesOf(d, DecisionKind::kPromote), ElementsAre(1)) << "the paused runner-up takes the place";
  ASSERT_NE(Find(d, DecisionKind::kStart, 1), nullptr);
}

TEST(LanePolicyTest, PriorityFirstThenMinimumCardsWithBackfill) {
  std::vector<LaneSpec> lanes = Lanes(4);
  lanes[1].priority = 5;  // first
  lanes[2].min_cards = 4;  // cannot fit next to lane 1: waits, lane 3 backfills
  LanePolicy policy = MakePolicy({4, 4}, Options(4), lanes);  // eta 4: 3 reports promote nobody
  const std::vector<Decision> d = policy.Decide();
  EXPECT_THAT(LanesOf(d, DecisionKind::kStart), ElementsAre(1, 0, 3));
  EXPECT_EQ(policy.status(2).state, LaneState::kWaiting);
  for (int lane : {0, 1, 3}) ASSERT_TRUE(policy.OnRungReached(lane, 100, 3.0 + lane, 50).ok());
  const std::vector<Decision> later = policy.Decide();
  const Decision* start = Find(later, DecisionKind::kStart, 2);
  ASSERT_NE(start, nullptr);
  EXPECT_EQ(start->cards.size(), 4u);
  EXPECT_DOUBLE_EQ(policy.status(2).queued_s, 50.0) << "queueing time is counted while runnable without cards";
}

TEST(LanePolicyTest, WideningRespectsMaxWidthBatchDivisorsAndNodeLocalGangs) {
  std::vector<LaneSpec> lanes = Lanes(3);
  lanes[0].tp = 4;
  lanes[0].max_cards = 8;
  lanes[1].tp = 2;
  lanes[1].batch_units = 8;  // widths 1, 2, 4, 8
  lanes[2].max_cards = 3;
  LanePolicy policy = MakePolicy({16, 8}, Options(3, /*widen=*/true), lanes);
  const std::vector<Decision> d = policy.Decide();
  testing::ExpectPolicyInvariants(policy);
  EXPECT_THAT(LanesOf(d, DecisionKind::kStart), ElementsAre(0, 1, 2));
  EXPECT_TRUE(LanesOf(d, DecisionKind::kWiden).empty()) << "lanes starting this round start wide instead";
  EXPECT_EQ(policy.status(0).cards.size(), 8u) << "lane 0 is capped at max_cards 8";
  EXPECT_EQ(policy.status(1).cards.size(), 4u)
      << "5 free cards after lane 0 widened: widths 8 and 4 do not fit, 2 does";
  EXPECT_EQ(policy.status(2).cards.size(), 3u) << "lane 2 is capped at max_cards 3";
  EXPECT_EQ(policy.pool().free_cards(), 1);
}

TEST(LanePolicyTest, WideningWaitsWhileALaneIsRunnableAndSkipsLanesNearTheirRung) {
  PolicyOptions options = Options(10, /*widen=*/true);  // eta 10: no promotion in this test
  options.widen_min_remaining_steps = 50;
  std::vector<LaneSpec> lanes = Lanes(5);
  lanes[4].min_cards = 2;
  LanePolicy policy = MakePolicy({4, 4}, options, lanes);
  EXPECT_THAT(LanesOf(policy.Decide(), DecisionKind::kStart), ElementsAre(0, 1, 2, 3));
  ASSERT_TRUE(policy.OnTick(1, {LaneProgress{1, 70, 3.5}, LaneProgress{2, 20, 3.6}, LaneProgress{3, 60, 3.4}}).ok());
  ASSERT_TRUE(policy.OnRungReached(0, 100, 3.0, 1).ok());
  std::vector<Decision> d = policy.Decide();
  EXPECT_THAT(LanesOf(d, DecisionKind::kPause), ElementsAre(0));
  EXPECT_TRUE(LanesOf(d, DecisionKind::kWiden).empty()) << "lane 4 is runnable: the free card stays for it";
  EXPECT_EQ(policy.pool().free_cards(), 1);
  ASSERT_TRUE(policy.OnRungReached(3, 100, 3.1, 2).ok());
  d = policy.Decide();
  const Decision* start = Find(d, DecisionKind::kStart, 4);
  ASSERT_NE(start, nullptr);
  EXPECT_EQ(start->cards.size(), 2u);
  ASSERT_TRUE(policy.OnRungReached(4, 100, 3.2, 3).ok());
  d = policy.Decide();
  // Two free cards, nobody waiting: lane 1 has 30 steps left before its rung (too few), lane 2 has 80.
  EXPECT_THAT(LanesOf(d, DecisionKind::kWiden), ElementsAre(2));
  EXPECT_EQ(policy.status(2).cards.size(), 3u);
  EXPECT_EQ(policy.status(1).cards.size(), 1u);
  testing::ExpectPolicyInvariants(policy);
}

TEST(LanePolicyTest, ShrinksAWidenedLaneWhenARunnableLaneNeedsItsCards) {
  std::vector<LaneSpec> lanes = Lanes(3);
  lanes[1].min_cards = 2;
  LanePolicy policy = MakePolicy({4, 4}, Options(2, /*widen=*/true), lanes);
  EXPECT_THAT(LanesOf(policy.Decide(), DecisionKind::kStart), ElementsAre(0, 1, 2));
  ASSERT_TRUE(policy.OnRungReached(1, 100, 2.0, 10).ok());  // best; paused: floor(1/2) = 0
  std::vector<Decision> d = policy.Decide();
  EXPECT_THAT(LanesOf(d, DecisionKind::kWiden), ElementsAre(0));
  EXPECT_EQ(policy.status(0).cards.size(), 3u);
  const std::vector<int> widened = policy.status(0).cards;
  ASSERT_TRUE(policy.OnRungReached(2, 100, 2.5, 20).ok());  // floor(2/2) = 1: lane 1 promoted, needs 2 cards
  d = policy.Decide();
  EXPECT_THAT(LanesOf(d, DecisionKind::kPromote), ElementsAre(1));
  const Decision* shrink = Find(d, DecisionKind::kShrink, 0);
  ASSERT_NE(shrink, nullptr);
  EXPECT_EQ(shrink->cards, std::vector<int>(widened.begin(), widened.begin() + 2)) << "only as much as needed";
  const Decision* start = Find(d, DecisionKind::kStart, 1);
  ASSERT_NE(start, nullptr);
  EXPECT_EQ(start->cards.size(), 2u);
  EXPECT_EQ(start->step, 100);
  testing::ExpectPolicyInvariants(policy);
}

TEST(LanePolicyTest, InvariantsHoldUnderRandomEventsOnRandomPools) {
  std::map<std::string, int> kinds_seen;
  for (uint64_t seed = 1; seed <= 30; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937_64 gen(seed * 7919);
    const int per_node = (gen() % 2) ? 8 : 4;
    const PoolShape pool{per_node * static_cast<int>(1 + gen() % 4), per_node};
    std::vector<LaneSpec> lanes = Lanes(static_cast<int>(3 + gen() % 30));
    for (LaneSpec& lane : lanes) {
      lane.tp = 1 << (gen() % 3);  // 1, 2, 4: all divide 4 and 8
      lane.min_cards = std::min(pool.cards, lane.tp * static_cast<int>(1 + gen() % 2));
      lane.max_cards = (gen() % 3 == 0) ? 0 : lane.min_cards * static_cast<int>(1 + gen() % 3);
      lane.batch_units = (gen() % 2) ? 0 : 24;
      lane.priority = static_cast<int>(gen() % 3);
    }
    PolicyOptions options = Options(2 + static_cast<int>(gen() % 3), gen() % 4 != 0);
    options.widen_min_remaining_steps = static_cast<int64_t>(gen() % 100);
    absl::StatusOr<LanePolicy> policy = LanePolicy::Create(pool, options, lanes);
    ASSERT_TRUE(policy.ok()) << policy.status();
    const std::vector<std::string> log = testing::DriveRandomly(&*policy, seed);
    EXPECT_GT(log.size(), lanes.size()) << "every lane at least started";
    for (const std::string& line : log) {  // "t=1.0s start   lane 3 ...": the kind, padded to 7
      const size_t kind = line.find("s ") + 2;
      ++kinds_seen[line.substr(kind, line.find(" lane") - kind)];
    }
  }
  // The random runs must have exercised every kind of decision, or the invariants above proved little.
  for (const char* kind : {"start  ", "promote", "pause  ", "widen  ", "shrink ", "stop   ", "finish "}) {
    EXPECT_GT(kinds_seen[kind], 0) << "no '" << kind << "' decision in 30 random runs";
  }
}

TEST(LanePolicyTest, SameEventsGiveTheSameDecisions) {
  std::vector<LaneSpec> lanes = Lanes(40);
  for (int i = 0; i < 40; ++i) lanes[i].tp = (i % 3 == 0) ? 2 : 1;
  auto run = [&](uint64_t seed) {
    LanePolicy policy = MakePolicy({16, 8}, Options(3, true), lanes);
    return testing::DriveRandomly(&policy, seed);
  };
  const std::vector<std::string> first = run(5);
  EXPECT_EQ(first, run(5));
  EXPECT_NE(first, run(6)) << "different events must lead to different decisions (the comparison is not vacuous)";
}

TEST(LanePolicyTest, ErrorsNameTheLaneAndWhatWasExpected) {
  std::vector<LaneSpec> bad = Lanes(2);
  bad[1].tp = 3;
  absl::StatusOr<LanePolicy> invalid = LanePolicy::Create({16, 8}, Options(), bad);
  ASSERT_FALSE(invalid.ok());
  EXPECT_THAT(invalid.status().message(), HasSubstr("lane 1 (lane1): tp 3 does not divide the 8 cards per node"));
  bad[1].tp = 1;
  bad[1].min_cards = 32;
  EXPECT_THAT(LanePolicy::Create({16, 8}, Options(), bad).status().message(), HasSubstr("no data-parallel width"));

  LanePolicy policy = MakePolicy({1, 1}, Options(), Lanes(2));
  policy.Decide();
  absl::Status status = policy.OnRungReached(0, 300, 2.0, 1);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("reported step 300; its next rung is at step 100"));
  status = policy.OnRungReached(1, 100, 2.0, 1);
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(status.message(), HasSubstr("which is waiting; expected a running lane"));
  ASSERT_TRUE(policy.OnTick(5).ok());
  EXPECT_THAT(policy.OnFailure(0, "x", 4).message(), HasSubstr("earlier than the previous event"));
  EXPECT_THAT(policy.OnTick(6, {LaneProgress{0, 200, 2.0}}).message(), HasSubstr("expected a step in [0, 100]"));
}

}  // namespace
}  // namespace kachi::lanes
