// Policy quality on recorded real curves (issue 18): the curves CSV's warmup_steps column (strict, and the grace a
// CSV lane gets from it), the --csv mode's arguments, and the quality table on the committed recording
// bench/lanes/real_curves_cpu.csv (16 lanes of `kachi train`, bench/lanes/record_real_curves.sh): every policy
// scored, the numbers finite and in range, the same table twice, and the measured standing of kachi against the
// stopping-based ASHA pinned (bench/RESULTS.md, "Lanes: policy quality on recorded real curves"), and the same
// order on the replicate recorded with another seed.
#include <cmath>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "launcher/lanes/quality_csv.h"
#include "launcher/lanes/sim_setup.h"
#include "tests/test_util.h"

namespace kachi::lanes {
namespace {

using ::testing::HasSubstr;

// `lanes` lanes of power-law curves from step 10 to `end` every 10 steps, random scales, batch_units 4, lane i's
// warmup 10 * (i + 1).
std::string WarmupCsv(int lanes, int end, uint64_t seed) {
  const std::vector<float> r = ::kachi::testing::RandomFloats(2 * lanes, seed, 0.5f, 1.5f);
  std::string csv = "lane,step,loss,batch_units,warmup_steps\n";
  for (int lane = 0; lane < lanes; ++lane) {
    for (int step = 10; step <= end; step += 10) {
      const double loss = 2.0 + r[2 * lane] + r[2 * lane + 1] / std::sqrt(step + 1.0);
      absl::StrAppend(&csv, "l", lane, ",", step, ",", loss, ",4,", 10 * (lane + 1), "\n");
    }
  }
  return csv;
}

TEST(RealCurvesTest, WarmupColumnIsParsedStrictly) {
  absl::StatusOr<std::vector<NamedCurve>> good = ParseCurvesCsv(WarmupCsv(3, 100, 21), "w.csv");
  ASSERT_TRUE(good.ok()) << good.status();
  ASSERT_EQ(good->size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ((*good)[i].warmup_steps, 10 * (i + 1));
    EXPECT_EQ((*good)[i].batch_units, 4);
  }
  // Without the column: no warmup.
  absl::StatusOr<std::vector<NamedCurve>> plain = ParseCurvesCsv("lane,step,loss,batch_units\na,1,2.0,4\n", "p.csv");
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_EQ((*plain)[0].warmup_steps, 0);
  // Headerless rows of 5 fields read as lane,step,loss,batch_units,warmup_steps.
  absl::StatusOr<std::vector<NamedCurve>> bare = ParseCurvesCsv("a,1,2.0,4,7\na,2,1.9,4,7\n", "b.csv");
  ASSERT_TRUE(bare.ok()) << bare.status();
  EXPECT_EQ((*bare)[0].warmup_steps, 7);
  // Errors name the line and the field.
  const std::string header = "lane,step,loss,batch_units,warmup_steps\n";
  EXPECT_THAT(ParseCurvesCsv(header + "a,1,2.0,4,10\na,2,1.9,4,20\n", "c.csv").status().message(),
              HasSubstr("c.csv:3: field 5 (warmup_steps) 20 for lane 'a', which had 10"));
  EXPECT_THAT(ParseCurvesCsv(header + "a,1,2.0,4,-1\n", "c.csv").status().message(),
              HasSubstr("c.csv:2: field 5 (warmup_steps) '-1'"));
  EXPECT_THAT(ParseCurvesCsv(header + "a,1,2.0,4,1.5\n", "c.csv").status().message(),
              HasSubstr("field 5 (warmup_steps) '1.5'"));
  EXPECT_THAT(ParseCurvesCsv(header + "a,1,2.0,4\n", "c.csv").status().message(),
              HasSubstr("c.csv:2: found 4 fields; expected 5"));
  EXPECT_FALSE(ParseCurvesCsv("lane,step,loss,warmup_steps\na,1,2.0,4\n", "c.csv").ok())
      << "warmup_steps comes only after batch_units";
}

TEST(RealCurvesTest, CsvLanesGetTheirWarmupAsGrace) {
  config::LanesFile file = DefaultSimulationFile();
  file.mutable_policy()->set_max_steps(300);
  file.mutable_policy()->set_min_steps(20);
  file.mutable_pool()->set_cards(4);
  const std::string path = ::testing::TempDir() + "/grace.csv";
  std::ofstream(path) << WarmupCsv(3, 300, 22);
  file.mutable_simulator()->set_curves_csv(path);
  absl::StatusOr<std::unique_ptr<SimulationSetup>> setup = BuildSimulation(file);
  ASSERT_TRUE(setup.ok()) << setup.status();
  for (int i = 0; i < 3; ++i) EXPECT_EQ((*setup)->input.lanes[i].grace_steps, 10 * (i + 1));
  file.mutable_policy()->set_warmup_grace(false);
  setup = BuildSimulation(file);
  ASSERT_TRUE(setup.ok()) << setup.status();
  for (const LaneSpec& lane : (*setup)->input.lanes) EXPECT_EQ(lane.grace_steps, 0) << lane.name;
}

TEST(RealCurvesTest, ArgumentsAreStrict) {
  absl::StatusOr<CsvQualitySpec> spec = ParseCsvQualityArgs("x.csv", {"draws=7", "cards=8", "step_s=0.5"});
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->draws, 7);
  EXPECT_EQ(spec->pool.cards, 8);
  EXPECT_DOUBLE_EQ(spec->timing.step_time_s, 0.5);
  EXPECT_EQ(spec->options.min_steps, 20);
  EXPECT_EQ(spec->options.widen_min_remaining_steps, 10);
  EXPECT_THAT(ParseCsvQualityArgs("x.csv", {"seeds=3"}).status().message(), HasSubstr("argument 'seeds=3'"));
  EXPECT_THAT(ParseCsvQualityArgs("x.csv", {"draws=two"}).status().message(), HasSubstr("'two' is not a number"));
  EXPECT_THAT(ParseCsvQualityArgs("x.csv", {"draws=1.5"}).status().message(), HasSubstr("expected an integer"));
  EXPECT_THAT(ParseCsvQualityArgs("x.csv", {"eta=1"}).status().message(), HasSubstr("eta=1"));
  EXPECT_FALSE(ParseCsvQualityArgs("x.csv", {"step_s=0"}).ok());
  EXPECT_FALSE(ParseCsvQualityArgs("x.csv", {"serial=2"}).ok());
}

TEST(RealCurvesTest, CurvesMustCoverTheRungsAndTheEnd) {
  // Lane l1 ends at step 200 while the others reach 300: with max_steps 300 it is refused by name; with max_steps 0
  // the recorded end is 200, the last step every curve reaches.
  std::string csv = WarmupCsv(3, 300, 23);
  std::string cut;
  for (absl::string_view line : absl::StrSplit(csv, '\n')) {
    if (absl::StartsWith(line, "l1,")) {
      const int step = std::stoi(std::string(line.substr(3, line.find(',', 3) - 3)));
      if (step > 200) continue;
    }
    if (!line.empty()) absl::StrAppend(&cut, line, "\n");
  }
  absl::StatusOr<std::vector<NamedCurve>> curves = ParseCurvesCsv(cut, "cut.csv");
  ASSERT_TRUE(curves.ok()) << curves.status();
  absl::StatusOr<CsvQualitySpec> spec = ParseCsvQualityArgs("cut.csv", {"lanes=3", "max_steps=300"});
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_THAT(ResolveCsvQuality(*curves, *spec).status().message(),
              HasSubstr("lane 'l1': its recorded curve ends at step 200"));
  spec->options.max_steps = 0;
  absl::StatusOr<CsvQualitySpec> resolved = ResolveCsvQuality(*curves, *spec);
  ASSERT_TRUE(resolved.ok()) << resolved.status();
  EXPECT_EQ(resolved->options.max_steps, 200);
  EXPECT_EQ(resolved->timing.chunk_steps, 20);
  spec->options.min_steps = 5;  // the first rung before every curve's first point (step 10)
  EXPECT_THAT(ResolveCsvQuality(*curves, *spec).status().message(), HasSubstr("after the first rung at step 5"));
  spec->options.min_steps = 20;
  spec->lanes_per_draw = 4;
  EXPECT_THAT(ResolveCsvQuality(*curves, *spec).status().message(), HasSubstr("4 per draw"));
}

// The committed recording, run as bench/RESULTS.md runs it: 40 draws of 12 of the 16 lanes on 4 cards, rungs 20 *
// 3^k below 540, time in units of the measured step (55.2 ms), checkpoint and restore 0.77 steps (42.6 ms measured),
// all-reduce alpha 5.9 us and beta 0.39 ms (this box's 2-rank link, 482 KB of gradients) in the same unit.
std::vector<std::string> RecordedArgs() {
  return {"draws=40",          "lanes=12",       "cards=4",          "step_s=1",
          "checkpoint_s=0.77", "restore_s=0.77", "alpha_s=0.000107", "beta_s=0.0071"};
}

TEST(RealCurvesTest, PolicyQualityOnTheRecordedCurves) {
  const std::string path = std::string(KACHI_SOURCE_DIR) + "/bench/lanes/real_curves_cpu.csv";
  absl::StatusOr<std::vector<NamedCurve>> curves = LoadCurvesCsv(path);
  ASSERT_TRUE(curves.ok()) << curves.status();
  ASSERT_EQ(curves->size(), 16u);
  absl::StatusOr<CsvQualitySpec> spec = ParseCsvQualityArgs(path, RecordedArgs());
  ASSERT_TRUE(spec.ok()) << spec.status();
  spec = ResolveCsvQuality(*curves, *spec);
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->options.max_steps, 540) << "the recorded end";
  absl::StatusOr<std::vector<QualityCell>> cells = MeasureCsvQuality(*curves, *spec);
  ASSERT_TRUE(cells.ok()) << cells.status();
  const std::vector<std::string> names = QualityPolicyNames();
  ASSERT_EQ(cells->size(), names.size());
  std::map<std::string, QualityCell> by_policy;
  for (size_t i = 0; i < names.size(); ++i) {
    const QualityCell& c = (*cells)[i];
    EXPECT_EQ(c.policy, names[i]);
    EXPECT_EQ(c.family, "real");
    EXPECT_EQ(c.runs, 40) << c.policy;
    for (double v : {c.p_best, c.p_best_expected}) EXPECT_TRUE(v >= 0 && v <= 1) << c.policy << " P " << v;
    for (double v : {c.regret, c.regret_expected}) EXPECT_TRUE(std::isfinite(v) && v >= 0) << c.policy << " " << v;
    for (double v : {c.gpu_h_to_chosen, c.pool_gpu_h, c.held_gpu_h}) {
      EXPECT_TRUE(std::isfinite(v) && v > 0) << c.policy << " GPU-h " << v;
    }
    EXPECT_LE(c.gpu_h_to_chosen, c.pool_gpu_h + 1e-9) << c.policy;
    EXPECT_LE(c.held_gpu_h, c.pool_gpu_h + 1e-9) << c.policy;
    by_policy[c.policy] = c;
  }
  // Equal split trains every lane to max_steps and chooses the lowest final loss: the true best, by definition.
  EXPECT_EQ(by_policy["equal-split"].p_best, 1.0);
  EXPECT_EQ(by_policy["equal-split"].regret, 0.0);
  // Measured (bench/RESULTS.md): kachi chose the true best in 0.75 of the draws at regret 0.0045 (its misses are
  // mostly the near-tie of the two lr 1e-2 warmup-150 lanes, 0.004 apart), stop-asha in 0.20 at 0.0458 (it stops
  // the warmup-150 lanes at step 20 and ends on an lr 3e-3 lane 2.5% worse); promotion ASHA without grace never.
  const QualityCell& kachi = by_policy["kachi"];
  const QualityCell& stop = by_policy["stop-asha"];
  EXPECT_GE(kachi.p_best, stop.p_best + 0.3);
  EXPECT_LE(kachi.regret, 0.5 * stop.regret);
  EXPECT_GE(kachi.p_best_expected, stop.p_best_expected + 0.3);
  EXPECT_LE(kachi.regret_expected, 0.5 * stop.regret_expected);
  EXPECT_LE(by_policy["asha+widen"].p_best, 0.1);
  // Where kachi loses, pinned: it spends more pool GPU-hours than stop-asha on these curves (1.29x measured; the
  // warmup-150 lanes are trained through their grace and near-ties to the end). If this fails because kachi got
  // cheaper, update bench/RESULTS.md and this band.
  const double cost_ratio = kachi.pool_gpu_h / stop.pool_gpu_h;
  EXPECT_GT(cost_ratio, 1.1) << "kachi's pool GPU-h over stop-asha's";
  EXPECT_LT(cost_ratio, 1.5) << "kachi's pool GPU-h over stop-asha's";
  // kachi with rungs in schedule time (policy.schedule_rungs) instead of the grace: measured P 0.97 at 0.97x
  // stop-asha's pool GPU-h.
  const QualityCell& schedule = by_policy["kachi-schedule-rungs"];
  EXPECT_GE(schedule.p_best, 0.9);
  EXPECT_LE(schedule.regret, 0.25 * stop.regret);
  EXPECT_LE(schedule.pool_gpu_h, 1.05 * stop.pool_gpu_h);
  // Deterministic: the same draws give the same table.
  absl::StatusOr<std::vector<QualityCell>> again = MeasureCsvQuality(*curves, *spec);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(FormatCsvQuality(*again, *spec, 16), FormatCsvQuality(*cells, *spec, 16));
}

TEST(RealCurvesTest, TheReplicateWithAnotherSeedKeepsTheOrder) {
  // bench/lanes/real_curves_cpu_seed2.csv: the 6 best lanes again with another init and data-order seed (another lane
  // is the best there). Measured: kachi P 0.97 regret 0.0001, stop-asha 0.40 / 0.0229, schedule rungs 1.00.
  const std::string path = std::string(KACHI_SOURCE_DIR) + "/bench/lanes/real_curves_cpu_seed2.csv";
  absl::StatusOr<std::vector<NamedCurve>> curves = LoadCurvesCsv(path);
  ASSERT_TRUE(curves.ok()) << curves.status();
  ASSERT_EQ(curves->size(), 6u);
  std::vector<std::string> args = RecordedArgs();
  args.push_back("lanes=6");  // all of them, in 40 random orders (a later key overrides)
  absl::StatusOr<CsvQualitySpec> spec = ParseCsvQualityArgs(path, args);
  ASSERT_TRUE(spec.ok()) << spec.status();
  absl::StatusOr<std::vector<QualityCell>> cells = MeasureCsvQuality(*curves, *spec);
  ASSERT_TRUE(cells.ok()) << cells.status();
  std::map<std::string, QualityCell> by_policy;
  for (const QualityCell& c : *cells) by_policy[c.policy] = c;
  const QualityCell& kachi = by_policy["kachi"];
  const QualityCell& stop = by_policy["stop-asha"];
  EXPECT_EQ(by_policy["equal-split"].p_best, 1.0);
  EXPECT_GE(kachi.p_best, stop.p_best + 0.3);
  EXPECT_LE(kachi.regret, 0.5 * stop.regret);
  EXPECT_GE(by_policy["kachi-schedule-rungs"].p_best, 0.9);
}

}  // namespace
}  // namespace kachi::lanes
