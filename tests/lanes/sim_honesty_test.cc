// The simulator's honesty defects of issue 18, each with a test that fails on the old behaviour: CSV lanes widened
// past their recorded batch shape, a step time without the all-reduce term, a widening decided at a lane's start
// left out of the widen count, a malformed first CSV line dropped as a "header", a curve extended flat before its
// first point, and interpolation turning NaN before the divergence step.
#include <cmath>
#include <cstdio>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "launcher/lanes/policy.h"
#include "launcher/lanes/sim_setup.h"
#include "launcher/lanes/simulator.h"
#include "tests/test_util.h"

namespace kachi::lanes {
namespace {

using ::testing::HasSubstr;

std::string WriteTemp(const std::string& name, const std::string& text) {
  const std::string path = ::testing::TempDir() + "/" + name;
  std::FILE* f = std::fopen(path.c_str(), "w");
  EXPECT_NE(f, nullptr);
  std::fputs(text.c_str(), f);
  std::fclose(f);
  return path;
}

// Two lanes of power-law curves from step 0 to 900 every 25 steps, random scales; `units` adds the batch_units column.
std::string TwoLaneCsv(int units) {
  const std::vector<float> r = ::kachi::testing::RandomFloats(4, 11, 0.5f, 1.5f);
  std::string csv = units > 0 ? "lane,step,loss,batch_units\n" : "lane,step,loss\n";
  for (int lane = 0; lane < 2; ++lane) {
    for (int step = 0; step <= 900; step += 25) {
      const double loss = 2.0 + r[2 * lane] + r[2 * lane + 1] / std::sqrt(step + 1.0);
      csv += absl::StrCat("l", lane, ",", step, ",", loss, units > 0 ? absl::StrCat(",", units) : "", "\n");
    }
  }
  return csv;
}

config::LanesFile CsvFile(const std::string& path) {
  config::LanesFile file = DefaultSimulationFile();
  file.mutable_policy()->set_max_steps(900);
  file.mutable_policy()->set_min_steps(100);
  file.mutable_pool()->set_cards(16);
  file.mutable_simulator()->set_curves_csv(path);
  return file;
}

TEST(LaneSimHonestyTest, CsvLanesKeepTheirRecordedBatchShape) {
  // Without a batch_units column a CSV lane is never widened (it got the synthetic lanes' 64 units before: 16 wide).
  absl::StatusOr<std::unique_ptr<SimulationSetup>> plain = BuildSimulation(CsvFile(WriteTemp("h1.csv", TwoLaneCsv(0))));
  ASSERT_TRUE(plain.ok()) << plain.status();
  for (const LaneSpec& lane : (*plain)->input.lanes) {
    EXPECT_EQ(lane.batch_units, 1) << lane.name;
    EXPECT_EQ(AllowedWidths(lane, (*plain)->input.pool), std::vector<int>{1}) << lane.name;
  }
  absl::StatusOr<SimulationResult> result = Simulate((*plain)->input);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->widens, 0);
  // With the column, widths divide it: a global batch of 2 micro-batches allows 1 or 2 replicas, never 16.
  absl::StatusOr<std::unique_ptr<SimulationSetup>> two = BuildSimulation(CsvFile(WriteTemp("h2.csv", TwoLaneCsv(2))));
  ASSERT_TRUE(two.ok()) << two.status();
  EXPECT_EQ(AllowedWidths((*two)->input.lanes[0], (*two)->input.pool), (std::vector<int>{1, 2}));
  (*two)->input.keep_decisions = true;
  absl::StatusOr<SimulationResult> widened = Simulate((*two)->input);
  ASSERT_TRUE(widened.ok()) << widened.status();
  for (const Decision& d : widened->decisions) EXPECT_LE(d.cards.size(), 2u) << DecisionKindName(d.kind);
}

TEST(LaneSimHonestyTest, StepTimeHasTheAllReduceTerm) {
  const std::vector<float> r = ::kachi::testing::RandomFloats(3, 12, 0.001f, 0.1f);
  SimTiming timing;
  timing.step_time_s = 1.0;
  timing.serial_fraction = 0;
  timing.allreduce_alpha_s = r[0] * 0.01;
  timing.allreduce_beta_s = r[1];
  EXPECT_DOUBLE_EQ(StepSeconds(timing, 1), 1.0) << "one replica has no all-reduce";
  for (int w : {2, 4, 16, 64}) {
    const double expected = 1.0 / w + 2.0 * (w - 1) * timing.allreduce_alpha_s +
                            2.0 * (w - 1) / w * timing.allreduce_beta_s;
    EXPECT_NEAR(StepSeconds(timing, w), expected, 1e-12) << "width " << w;
  }
  // A slow link makes a wide lane slower than a narrower one (no free lunch from widening).
  timing.allreduce_alpha_s = 0.05;
  EXPECT_GT(StepSeconds(timing, 64), StepSeconds(timing, 8));
}

TEST(LaneSimHonestyTest, WidenCountMatchesTheDecisionLog) {
  // One lane, 4 cards, 4 batch units: the policy starts it at width 1 and widens it in the same round, which the
  // log shows as one kStart on 4 cards. The widen count must include it (it was 0).
  SimulationInput input;
  input.pool = PoolShape{4, 4};
  input.options.max_steps = 90;
  input.options.min_steps = 10;
  LaneSpec lane;
  lane.name = "solo";
  lane.batch_units = 4;
  input.lanes = {lane};
  SyntheticCurve curve(2.0, 1.0, 0.5, 0.0, -1, 1);
  input.curves = {&curve};
  input.keep_decisions = true;
  absl::StatusOr<SimulationResult> result = Simulate(input);
  ASSERT_TRUE(result.ok()) << result.status();
  int logged = 0;
  for (const Decision& d : result->decisions) {
    if (d.kind == DecisionKind::kWiden || (d.kind == DecisionKind::kStart && d.cards.size() > 1)) ++logged;
  }
  EXPECT_GE(logged, 1);
  EXPECT_EQ(result->widens, logged);
}

TEST(LaneSimHonestyTest, CsvHeaderIsStrict) {
  // A first line whose step is not an integer is an error naming line and field, not a silently dropped header.
  absl::StatusOr<std::vector<NamedCurve>> bad = ParseCurvesCsv("a,x,2.0\na,1,2.0\n", "c.csv");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("c.csv:1: field 2 (step) 'x' is not an integer"));
  EXPECT_FALSE(ParseCurvesCsv("lane,stp,loss\na,1,2.0\n", "c.csv").ok()) << "a misspelt header";
  EXPECT_THAT(ParseCurvesCsv("a,1,2.0\na,2,2.0,4\n", "c.csv").status().message(),
              HasSubstr("c.csv:2: found 4 fields; expected 3"));
  EXPECT_THAT(ParseCurvesCsv("lane,step,loss,batch_units\na,1,2.0,4\na,2,1.9,8\n", "c.csv").status().message(),
              HasSubstr("field 4 (batch_units) 8 for lane 'a', which had 4"));
  absl::StatusOr<std::vector<NamedCurve>> good = ParseCurvesCsv("LANE, step ,loss\na,1,2.0\n", "c.csv");
  ASSERT_TRUE(good.ok()) << good.status();
  EXPECT_EQ((*good)[0].batch_units, 0);
}

TEST(LaneSimHonestyTest, NoExtrapolationBeforeTheFirstPoint) {
  RecordedCurve curve({{25, 3.0}, {50, 2.0}});
  EXPECT_TRUE(std::isnan(curve.LossAt(12))) << "the step-12 loss is unknown, not the step-25 one";
  EXPECT_DOUBLE_EQ(curve.LossAt(25), 3.0);
  EXPECT_DOUBLE_EQ(curve.LossAt(30), 2.8);
  // A rung before a recorded curve's first point is refused, naming the lane.
  std::string csv = "lane,step,loss\n";
  for (int step = 150; step <= 900; step += 50) csv += absl::StrCat("late,", step, ",", 3.0 - step * 1e-3, "\n");
  absl::StatusOr<std::unique_ptr<SimulationSetup>> setup = BuildSimulation(CsvFile(WriteTemp("h3.csv", csv)));
  ASSERT_FALSE(setup.ok());
  EXPECT_THAT(setup.status().message(), HasSubstr("lane 'late': its recorded curve starts at step 150"));
}

TEST(LaneSimHonestyTest, NanExactlyFromItsStep) {
  RecordedCurve curve({{100, 2.0}, {200, std::nan("")}, {300, 1.0}});
  EXPECT_EQ(curve.DivergeStep(), 200);
  for (int64_t step : {100, 150, 199}) EXPECT_DOUBLE_EQ(curve.LossAt(step), 2.0) << "step " << step;
  for (int64_t step : {200, 250, 300, 400}) EXPECT_TRUE(std::isnan(curve.LossAt(step))) << "step " << step;
}

TEST(LaneSimHonestyTest, ChunkCheckpointsAndResizeAtTheChunkBoundary) {
  // Two lanes on 2 cards, no rungs, 300 steps in chunks of 100, checkpoint 10 s, restore 10 s. Lane 1 diverges at
  // step 50 (t = 50 s); its card widens lane 0, which (as the real executor does) keeps training at width 1 to its
  // chunk boundary (step 100, t = 100 s), checkpoints (10 s), restores at width 2 (10 s), then trains 200 steps with
  // one more chunk checkpoint and the final one. Before: resized at once from step 50, no chunk checkpoints.
  const std::vector<float> r = ::kachi::testing::RandomFloats(1, 13, 0.0f, 0.1f);
  SimulationInput input;
  input.pool = PoolShape{2, 2};
  input.options.max_steps = 300;
  input.options.successive_halving = false;
  input.timing.serial_fraction = r[0];
  input.timing.chunk_steps = 100;
  LaneSpec lane;
  lane.batch_units = 2;
  input.lanes = {lane, lane};
  SyntheticCurve good(2.0, 1.0, 0.5, 0.0, -1, 1), bad(2.0, 1.0, 0.5, 0.0, 50, 2);
  input.curves = {&good, &bad};
  absl::StatusOr<SimulationResult> result = Simulate(input);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->widens, 1);
  const double s2 = StepSeconds(input.timing, 2);
  EXPECT_NEAR(result->makespan_s, 100 + 10 + 10 + 200 * s2 + 10 + 10, 1e-9);
  // One lane alone, no resize: 300 steps, two chunk checkpoints and the final one.
  input.lanes = {lane};
  input.lanes[0].batch_units = 1;
  input.curves = {&good};
  absl::StatusOr<SimulationResult> alone = Simulate(input);
  ASSERT_TRUE(alone.ok()) << alone.status();
  EXPECT_NEAR(alone->makespan_s, 300 + 3 * 10, 1e-9);
}

}  // namespace
}  // namespace kachi::lanes
