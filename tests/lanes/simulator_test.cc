// The lane simulator: step-time scaling, exact accounting on a case with a known answer, 1000 lanes on 256 cards
// within 10 s, the default synthetic family against equal split (same best lane, >= 3x fewer GPU-hours),
// determinism, and recorded CSV curves.
#include "launcher/lanes/simulator.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "launcher/lanes/baselines.h"
#include "launcher/lanes/sim_setup.h"
#include "tests/test_util.h"

namespace kachi::lanes {
namespace {

using ::testing::HasSubstr;

std::unique_ptr<SimulationSetup> Build(const config::LanesFile& file) {
  absl::StatusOr<std::unique_ptr<SimulationSetup>> setup = BuildSimulation(file);
  EXPECT_TRUE(setup.ok()) << setup.status();
  return setup.ok() ? *std::move(setup) : nullptr;
}

// The lane with the lowest loss at max_steps among those that never diverge before it, from the curves alone.
int BestByCurves(const SimulationSetup& setup) {
  const int64_t max_steps = setup.input.options.max_steps;
  int best = -1;
  for (int lane = 0; lane < static_cast<int>(setup.curves.size()); ++lane) {
    const double loss = setup.curves[lane]->LossAt(max_steps);
    if (std::isfinite(loss) && (best < 0 || loss < setup.curves[best]->LossAt(max_steps))) best = lane;
  }
  return best;
}

TEST(LaneSimulatorTest, StepTimeShrinksSubLinearlyWithWidth) {
  const std::vector<float> r = ::kachi::testing::RandomFloats(2, 3, 0.01f, 0.3f);
  const SimTiming timing{1.0 + 10 * r[0], r[1], 0, 0};
  EXPECT_DOUBLE_EQ(StepSeconds(timing, 1), timing.step_time_s);
  for (int width = 2; width <= 64; width *= 2) {
    EXPECT_LT(StepSeconds(timing, width), StepSeconds(timing, width / 2));
    const double speedup = StepSeconds(timing, 1) / StepSeconds(timing, width);
    EXPECT_LT(speedup, width) << "width " << width << " must scale sub-linearly";
  }
}

TEST(LaneSimulatorTest, EqualSplitWithoutDivergenceTakesExactlyFourWaves) {
  config::LanesFile file = DefaultSimulationFile();
  file.mutable_simulator()->mutable_family()->set_diverge_fraction(0);
  file.mutable_simulator()->set_seed(7);
  std::unique_ptr<SimulationSetup> setup = Build(file);
  ASSERT_NE(setup, nullptr);
  absl::StatusOr<SimulationResult> split = Simulate(EqualSplitInput(setup->input));
  ASSERT_TRUE(split.ok()) << split.status();
  // 64 lanes on 16 cards, one card each: 4 waves of 8100 one-second steps in 81 chunks of 100 (the executor's
  // default chunk, min_steps), each ending with a 10 s checkpoint.
  constexpr double kLane = 8100 + 81 * 10.0;
  EXPECT_DOUBLE_EQ(split->makespan_s, 4 * kLane);
  EXPECT_DOUBLE_EQ(split->held_card_s, 64 * kLane);
  EXPECT_DOUBLE_EQ(split->Utilization(), 1.0);
  EXPECT_EQ(split->finishes, 64);
  EXPECT_DOUBLE_EQ(split->max_queue_s, 3 * kLane) << "the last wave waited three waves";
  ASSERT_TRUE(split->best_lane.has_value());
  EXPECT_EQ(*split->best_lane, BestByCurves(*setup));
  EXPECT_DOUBLE_EQ(split->best_loss, setup->curves[*split->best_lane]->LossAt(8100));
}

TEST(LaneSimulatorTest, ThousandLanesOnTwoHundredFiftySixCardsFinishWithinTenSeconds) {
  config::LanesFile file = DefaultSimulationFile();
  file.mutable_pool()->set_cards(256);
  file.mutable_simulator()->set_synthetic_lanes(1000);
  std::unique_ptr<SimulationSetup> setup = Build(file);
  ASSERT_NE(setup, nullptr);
  const auto start = std::chrono::steady_clock::now();
  absl::StatusOr<SimulationResult> result = Simulate(setup->input);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_TRUE(result.ok()) << result.status();
  std::printf("1000 lanes on 256 cards: simulated in %.3f s (limit 10 s); %.1f pool GPU-hours, utilization %.1f%%, "
              "%d starts, %d widens, %d shrinks, %d stops\n",
              seconds, result->PoolGpuHours(), 100 * result->Utilization(), result->starts, result->widens,
              result->shrinks, result->stops);
  EXPECT_LT(seconds, 10.0);
  EXPECT_EQ(result->finishes + result->stops + result->paused_at_end, 1000) << "every lane is accounted for";
  EXPECT_TRUE(result->best_lane.has_value());
  EXPECT_LE(result->held_card_s, 256 * result->makespan_s * (1 + 1e-12));
}

TEST(LaneSimulatorTest, DefaultFamilyFindsEqualSplitsBestLaneWithThreeTimesFewerGpuHours) {
  std::unique_ptr<SimulationSetup> setup = Build(DefaultSimulationFile());
  ASSERT_NE(setup, nullptr);
  ASSERT_EQ(setup->input.lanes.size(), 64u);
  ASSERT_EQ(setup->input.pool.cards, 16);
  absl::StatusOr<std::vector<PolicyRun>> runs = CompareWithBaselines(setup->input);
  ASSERT_TRUE(runs.ok()) << runs.status();
  std::fputs(FormatComparison(*runs, setup->lane_names).c_str(), stdout);
  const SimulationResult& asha = (*runs)[0].result;
  const SimulationResult& no_widen = (*runs)[1].result;
  const SimulationResult& split = (*runs)[2].result;
  ASSERT_TRUE(asha.best_lane.has_value());
  ASSERT_TRUE(split.best_lane.has_value());
  EXPECT_EQ(*split.best_lane, BestByCurves(*setup)) << "equal split trains every lane: its best is the true best";
  EXPECT_EQ(*asha.best_lane, *split.best_lane);
  EXPECT_DOUBLE_EQ(asha.best_loss, split.best_loss);
  const double ratio = split.PoolGpuHours() / asha.PoolGpuHours();
  std::printf("equal split / asha+widen GPU-hours: %.2f (required >= 3)\n", ratio);
  EXPECT_GE(ratio, 3.0);
  EXPECT_LT(asha.PoolGpuHours(), no_widen.PoolGpuHours()) << "widening must pay for itself here";
  EXPECT_GT(asha.Utilization(), no_widen.Utilization());
  EXPECT_GT(asha.widens, 0);
  EXPECT_EQ(no_widen.widens, 0);
}

TEST(LaneSimulatorTest, SameSeedSameDecisionsOtherSeedOtherCurves) {
  config::LanesFile file = DefaultSimulationFile();
  auto decisions = [&](uint64_t seed) {
    file.mutable_simulator()->set_seed(seed);
    std::unique_ptr<SimulationSetup> setup = Build(file);
    setup->input.keep_decisions = true;
    absl::StatusOr<SimulationResult> result = Simulate(setup->input);
    EXPECT_TRUE(result.ok()) << result.status();
    std::vector<std::string> lines;
    for (const Decision& d : result->decisions) lines.push_back(DescribeDecision(d, setup->lane_names[d.lane]));
    return lines;
  };
  const std::vector<std::string> first = decisions(11);
  EXPECT_GT(first.size(), 64u);
  EXPECT_EQ(first, decisions(11));
  EXPECT_NE(first, decisions(12));
}

TEST(LaneSimulatorTest, RecordedCsvCurvesDriveThePolicy) {
  // Six lanes: loss = a + b / sqrt(step) with a crossing (lane "slow" starts worst and ends best), one divergence.
  const std::vector<float> jitter = ::kachi::testing::RandomFloats(6, 17, 0.0f, 0.01f);
  const char* names[] = {"fast", "mid", "slow", "bad", "worse", "boom"};
  const double a[] = {2.6, 2.5, 2.2, 2.9, 3.0, 2.4};
  const double b[] = {1.0, 2.0, 9.0, 2.0, 2.0, 1.0};
  std::string csv = "lane,step,loss\n";
  for (int lane = 0; lane < 6; ++lane) {
    for (int step = 0; step <= 900; step += 50) {
      const bool diverged = lane == 5 && step >= 200;
      const double loss = a[lane] + jitter[lane] + b[lane] / std::sqrt(step + 1.0);
      csv += absl::StrCat(names[lane], ",", step, ",", diverged ? "nan" : absl::StrCat(loss), "\n");
    }
  }
  const std::string path = ::testing::TempDir() + "/lanes_curves.csv";
  {
    std::FILE* f = std::fopen(path.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fputs(csv.c_str(), f);
    std::fclose(f);
  }
  config::LanesFile file = DefaultSimulationFile();
  file.mutable_policy()->set_max_steps(900);
  file.mutable_policy()->set_min_steps(100);
  file.mutable_pool()->set_cards(6);
  file.mutable_simulator()->set_curves_csv(path);
  std::unique_ptr<SimulationSetup> setup = Build(file);
  ASSERT_NE(setup, nullptr);
  ASSERT_EQ(setup->lane_names, std::vector<std::string>(std::begin(names), std::end(names)));
  EXPECT_EQ(setup->curves[5]->DivergeStep(), 200);
  EXPECT_DOUBLE_EQ(setup->curves[0]->LossAt(125), 0.5 * (setup->curves[0]->LossAt(100) +
                                                         setup->curves[0]->LossAt(150)));
  setup->input.options.eta = 2;
  absl::StatusOr<std::vector<PolicyRun>> runs = CompareWithBaselines(setup->input);
  ASSERT_TRUE(runs.ok()) << runs.status();
  std::fputs(FormatComparison(*runs, setup->lane_names).c_str(), stdout);
  const SimulationResult& split = (*runs)[2].result;
  ASSERT_TRUE(split.best_lane.has_value());
  EXPECT_EQ(setup->lane_names[*split.best_lane], "slow");
  EXPECT_EQ(split.stops, 1) << "the lane whose curve turns NaN is stopped";

  file.mutable_policy()->set_max_steps(1000);
  absl::StatusOr<std::unique_ptr<SimulationSetup>> short_curves = BuildSimulation(file);
  ASSERT_FALSE(short_curves.ok());
  EXPECT_THAT(short_curves.status().message(), HasSubstr("ends at step 900; expected it to reach max_steps 1000"));
}

TEST(LaneSimulatorTest, CsvErrorsNameTheLine) {
  EXPECT_THAT(ParseCurvesCsv("lane,step,loss\na,1,2.0\na,2\n", "c.csv").status().message(),
              HasSubstr("c.csv:3: found 2 fields; expected 3"));
  EXPECT_THAT(ParseCurvesCsv("a,1,2.0\na,1,2.5\n", "c.csv").status().message(), HasSubstr("has step 1 twice"));
  EXPECT_THAT(ParseCurvesCsv("a,1,2.0\na,x,2.5\n", "c.csv").status().message(),
              HasSubstr("c.csv:2: field 2 (step) 'x' is not an integer"));
  EXPECT_THAT(ParseCurvesCsv("a,1,low\n", "c.csv").status().message(),
              HasSubstr("field 3 (loss) 'low' is not a number"));
}

}  // namespace
}  // namespace kachi::lanes
