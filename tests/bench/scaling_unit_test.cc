// `kachi bench scaling`'s pieces on known inputs: the alpha-beta formulas, the fit recovering planted alpha and
// beta from noisy timings, the plan of points, the step model fitted on synthetic 1- and 2-rank points and
// predicting held-out ones, the exposed-communication pipeline and the cluster projection, the report, and the step
// timeline's breakdown and Chrome-trace events.
#include <algorithm>
#include <cmath>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "bench/scaling/alpha_beta.h"
#include "bench/scaling/cluster_projection.h"
#include "bench/scaling/scaling_bench.h"
#include "bench/scaling/scaling_html.h"
#include "bench/scaling/scaling_plan.h"
#include "bench/scaling/scaling_report.h"
#include "bench/scaling/step_model.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/train/timeline.h"

namespace kachi {
namespace {

using ::testing::HasSubstr;

constexpr double kAlpha = 10e-6, kBeta = 1e-9;  // 10 us, 1 GB/s

TEST(AlphaBetaTest, FormulasGiveKnownTimes) {
  const AlphaBeta link{kAlpha, kBeta};
  // all_reduce, 4 ranks, 1 MB: ring 6 alpha + 1.5 MB beta; tree 4 alpha + 1.5 MB beta.
  EXPECT_NEAR(CollectiveSeconds(CollectiveKind::kAllReduce, 4, 1e6, link, CollectiveAlgorithm::kRing), 1.56e-3, 1e-12);
  EXPECT_NEAR(CollectiveSeconds(CollectiveKind::kAllReduce, 4, 1e6, link, CollectiveAlgorithm::kTree), 1.54e-3, 1e-12);
  EXPECT_NEAR(CollectiveSeconds(CollectiveKind::kAllReduce, 4, 1e6, link), 1.54e-3, 1e-12);
  // At 2 ranks ring and tree agree: 2 alpha + S beta.
  EXPECT_NEAR(CollectiveSeconds(CollectiveKind::kAllReduce, 2, 4e6, link, CollectiveAlgorithm::kRing), 4.02e-3, 1e-12);
  // Ring wins over tree nowhere for all-reduce beyond 4 ranks: tree's latency is logarithmic (1024 ranks: 20 steps).
  EXPECT_NEAR(CollectiveSeconds(CollectiveKind::kAllReduce, 1024, 0, link), 20 * kAlpha, 1e-12);
  EXPECT_NEAR(CollectiveSeconds(CollectiveKind::kReduceScatter, 4, 4e6, link), 3 * kAlpha + 3e-3, 1e-12);
  EXPECT_NEAR(CollectiveSeconds(CollectiveKind::kAllGather, 4, 1e6, link), 3 * kAlpha + 3e-3, 1e-12);
  EXPECT_NEAR(CollectiveSeconds(CollectiveKind::kBroadcast, 8, 1e6, link), 3 * (kAlpha + 1e-3), 1e-12);
  EXPECT_NEAR(CollectiveSeconds(CollectiveKind::kBarrier, 4, 0, link), 4 * kAlpha, 1e-12);
  EXPECT_EQ(CollectiveSeconds(CollectiveKind::kAllReduce, 1, 1e9, link), 0);
  const AlphaBeta nvlink = LinkFromBusBandwidth(370, 3);
  EXPECT_NEAR(nvlink.busbw_gbps(), 370, 1e-9);
  EXPECT_NEAR(nvlink.alpha_s, 3e-6, 1e-15);
}

TEST(AlphaBetaTest, FitRecoversPlantedAlphaAndBetaFromNoisyTimings) {
  const double alpha = 25e-6, beta = 1 / 2.5e9;  // 25 us, 2.5 GB/s
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> noise(0.95, 1.05);
  std::vector<CollectiveSample> samples;
  for (double bytes = 4096; bytes <= 16 << 20; bytes *= 4) {
    for (int repeat = 0; repeat < 3; ++repeat) {
      const double t = CollectiveSeconds(CollectiveKind::kAllReduce, 2, bytes, AlphaBeta{alpha, beta});
      samples.push_back(CollectiveSample{2, bytes, t * noise(rng)});
    }
  }
  absl::StatusOr<AlphaBeta> fit = FitAllReduceAlphaBeta(samples);
  ASSERT_TRUE(fit.ok()) << fit.status();
  EXPECT_NEAR(fit->alpha_s, alpha, 0.1 * alpha);
  EXPECT_NEAR(fit->beta_s_per_byte, beta, 0.1 * beta);
  // Exact timings give the exact parameters, also from 4-rank samples.
  std::vector<CollectiveSample> exact;
  for (double bytes : {1e3, 1e5, 1e7}) {
    exact.push_back(CollectiveSample{4, bytes,
                                     CollectiveSeconds(CollectiveKind::kAllReduce, 4, bytes, AlphaBeta{alpha, beta},
                                                       CollectiveAlgorithm::kRing)});
  }
  fit = FitAllReduceAlphaBeta(exact);
  ASSERT_TRUE(fit.ok());
  EXPECT_NEAR(fit->alpha_s, alpha, 1e-9 * alpha + 1e-15);
  EXPECT_NEAR(fit->beta_s_per_byte, beta, 1e-9 * beta);
}

TEST(AlphaBetaTest, FitRejectsTooFewSizesAndClampsNegativeAlpha) {
  EXPECT_FALSE(FitAllReduceAlphaBeta({{2, 1024, 1e-5}, {2, 1024, 1.1e-5}}).ok());
  EXPECT_FALSE(FitAllReduceAlphaBeta({{2, 1024, 1e-5}, {2, 4096, 0}}).ok());
  // Pure bandwidth with a slight superlinear bump would give alpha < 0: alpha is then 0 and beta refitted.
  absl::StatusOr<AlphaBeta> fit = FitAllReduceAlphaBeta({{2, 1e6, 1.0e-3}, {2, 4e6, 4.2e-3}, {2, 1.6e7, 16.8e-3}});
  ASSERT_TRUE(fit.ok());
  EXPECT_GE(fit->alpha_s, 0);
  EXPECT_GT(fit->beta_s_per_byte, 0);
}

GptShape TinyShape() {
  absl::StatusOr<GptShape> shape = GptPreset("tiny");
  EXPECT_TRUE(shape.ok());
  return *shape;
}

TEST(ScalingPlanTest, PointsPerModeSizeAndLayout) {
  ScalingPlanInputs inputs;
  inputs.world_size = 4;
  inputs.ranks_per_host = 4;
  inputs.shape = TinyShape();
  inputs.micro_batch = 2;
  std::vector<std::string> skipped;
  absl::StatusOr<std::vector<ScalingPoint>> plan = PlanScaling(inputs, &skipped);
  ASSERT_TRUE(plan.ok()) << plan.status();
  std::vector<std::string> labels;
  for (const ScalingPoint& p : *plan) labels.push_back(absl::StrCat(p.Label(), " b", p.global_batch));
  EXPECT_THAT(labels, ::testing::ElementsAre("dp 1 x tp 1 weak b2", "dp 2 x tp 1 weak b4", "dp 1 x tp 2 weak b2",
                                             "dp 4 x tp 1 weak b8", "dp 1 x tp 4 weak b2", "dp 2 x tp 2 weak b4",
                                             "dp 1 x tp 1 strong b8", "dp 2 x tp 1 strong b8",
                                             "dp 1 x tp 2 strong b8", "dp 4 x tp 1 strong b8",
                                             "dp 1 x tp 4 strong b8", "dp 2 x tp 2 strong b8"));
  EXPECT_EQ(skipped.size(), 2u);  // dp_tp at 2 ranks (dp would be 1), per mode
  // Two ranks per host: tp 4 would leave the host.
  inputs.ranks_per_host = 2;
  skipped.clear();
  plan = PlanScaling(inputs, &skipped);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->size(), 10u);
  EXPECT_THAT(skipped, ::testing::Contains(HasSubstr("tp 4 is wider than a host (2 ranks)")));
  inputs.sizes = {1, 8};
  EXPECT_FALSE(PlanScaling(inputs, nullptr).ok());
  EXPECT_THAT(DefaultScalingSizes(6), ::testing::ElementsAre(1, 2, 4, 6));
}

MeasuredPoint Point(int dp, int tp, ScalingMode mode, int64_t micro, double compute, double comm,
                    std::vector<CollectiveCall> schedule = {}) {
  MeasuredPoint m;
  m.point.ranks = dp * tp;
  m.point.dp = dp;
  m.point.tp = tp;
  m.point.layout = tp == 1 ? ScalingLayout::kDp : dp == 1 ? ScalingLayout::kTp : ScalingLayout::kDpTp;
  m.point.mode = mode;
  m.point.micro_batch = micro;
  m.point.global_batch = micro * dp;
  m.median.compute_s = compute;
  m.median.comm_s = comm;
  m.median.optimizer_s = 0.01;
  m.median.total_s = compute + comm + 0.01;
  m.schedule = std::move(schedule);
  m.ranks_per_machine = m.point.ranks;
  return m;
}

TEST(StepModelTest, FitsOneAndTwoRankPointsAndPredictsHeldOutOnes) {
  const AlphaBeta link{20e-6, 1e-9};
  LinkModel links;
  links.intra_host = link;
  const CollectiveCall grads{CollectiveKind::kAllReduce, "dp", 2, 1000000, 0};
  const CollectiveCall acts{CollectiveKind::kAllReduce, "tp", 2, 100000, 0};
  // Planted: compute = 0.01 + 0.05 b, no contention, tp serial fraction 0.2, comm exposed x2 (dp) and x1.5 (tp).
  const double c2 = 0.01 + 0.05 * 2;
  const double dp_formula = CollectiveSeconds(CollectiveKind::kAllReduce, 2, 1e6, link);
  const double tp_formula = CollectiveSeconds(CollectiveKind::kAllReduce, 2, 1e5, link);
  std::vector<MeasuredPoint> points = {
      Point(1, 1, ScalingMode::kWeak, 2, c2, 0), Point(1, 1, ScalingMode::kStrong, 8, 0.01 + 0.05 * 8, 0),
      Point(2, 1, ScalingMode::kWeak, 2, c2, 2 * dp_formula, {grads}),
      Point(1, 2, ScalingMode::kWeak, 2, c2 * (0.2 + 0.8 / 2), 1.5 * tp_formula, {acts})};
  absl::StatusOr<StepModel> model = FitStepModel(points, links, /*cores_per_machine=*/4, /*zero1=*/false);
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_NEAR(model->compute_fixed_s, 0.01, 1e-12);
  EXPECT_NEAR(model->compute_per_seq_s, 0.05, 1e-12);
  EXPECT_NEAR(model->contention, 1, 1e-12);
  EXPECT_NEAR(model->tp_serial_fraction, 0.2, 1e-12);
  EXPECT_NEAR(model->dp_exposed_fraction, 2, 1e-9);
  EXPECT_NEAR(model->tp_exposed_fraction, 1.5, 1e-9);
  // Held out: dp 4 x tp 2, micro-batch 2 on 8 ranks of one machine with 4 cores (2x oversubscribed).
  ScalingPoint held;
  held.ranks = 8;
  held.dp = 4;
  held.tp = 2;
  held.micro_batch = 2;
  held.global_batch = 8;
  const StepBreakdown b = PredictStep(*model, held, /*hosts=*/1, /*ranks_per_machine=*/8);
  EXPECT_NEAR(b.compute_s, c2 * 0.6 * 2, 1e-12);
  EXPECT_NEAR(b.optimizer_s, 0.01 / 2 * 2, 1e-12);
  const double dp4 = CollectiveSeconds(CollectiveKind::kAllReduce, 4, 1e6 / 2, link);
  EXPECT_NEAR(b.comm_s, 2 * dp4 + 1.5 * tp_formula, 1e-12);
  EXPECT_NEAR(b.total_s, b.compute_s + b.comm_s + b.optimizer_s + b.data_s + b.checkpoint_s, 1e-15);
  // Across hosts the dp collectives take the inter-host link.
  links.inter_host = AlphaBeta{100e-6, 1e-8};
  links.has_inter_host = true;
  model = FitStepModel(points, links, 4, false);
  ASSERT_TRUE(model.ok());
  EXPECT_NEAR(PredictCollectives(*model, held, 2).dp_s,
              CollectiveSeconds(CollectiveKind::kAllReduce, 4, 5e5, links.inter_host), 1e-12);
  EXPECT_FALSE(FitStepModel({points[2]}, links, 4, false).ok());  // no 1-rank point
}

// A round of one point with the given timed steps (compute seconds; comm 0.01 on the step marked).
MeasuredPoint Round(std::vector<double> computes, int marked = -1) {
  MeasuredPoint m = Point(2, 1, ScalingMode::kWeak, 2, computes.front(), 0);
  for (size_t i = 0; i < computes.size(); ++i) {
    StepBreakdown b;
    b.compute_s = computes[i];
    b.comm_s = static_cast<int>(i) == marked ? 0.01 : 0;
    b.total_s = b.compute_s + b.comm_s;
    m.steps.push_back(b);
    m.step_totals.push_back(b.total_s);
    m.step_ranks.push_back(static_cast<int>(i));
  }
  m.median = m.steps.front();
  m.tokens_per_s = 1.0 / m.median.total_s;  // one token per step
  return m;
}

// A calibration size: the compute probe (compute and optimizer seconds at `micro` sequences) and, from 2 ranks, a
// link.
SubWorldCalibration Probe(int ranks, int64_t micro, double compute, double optimizer, AlphaBeta link) {
  SubWorldCalibration size;
  size.ranks = ranks;
  size.compute.point.ranks = ranks;
  size.compute.point.micro_batch = micro;
  size.compute.median.compute_s = compute;
  size.compute.median.optimizer_s = optimizer;
  size.compute.median.total_s = compute + optimizer;
  size.link = link;
  size.has_link = ranks > 1;
  return size;
}

TEST(StepModelTest, CalibratedModelTakesComputeFromTheProbeAndCommFromTheLinkOfTheSize) {
  const AlphaBeta link2{20e-6, 1e-9}, link4{300e-6, 3e-9};
  LinkModel links;
  links.intra_host = AlphaBeta{1e-6, 1e-10};  // the pair sweep: not used where a size has its own link
  const CollectiveCall grads{CollectiveKind::kAllReduce, "dp", 2, 1000000, 0};
  const CollectiveCall acts{CollectiveKind::kAllReduce, "tp", 2, 100000, 0};
  // Planted: 1-rank compute 0.01 + 0.05 b; probes at micro-batch 2: alone 0.11 s, 2 ranks x1.2, 4 ranks x3.
  const double c2 = 0.01 + 0.05 * 2;
  ScalingCalibration calibration;
  calibration.sizes = {Probe(1, 2, c2, 0.01, {}), Probe(2, 2, 1.2 * c2, 0.01, link2), Probe(4, 2, 3 * c2, 0.02, link4)};
  const double dp_formula = CollectiveSeconds(CollectiveKind::kAllReduce, 2, 1e6, link2);
  const double tp_formula = CollectiveSeconds(CollectiveKind::kAllReduce, 2, 1e5, link2);
  // dp 2: the probe's compute and optimizer, plus 2x its formula; tp 2: serial fraction 0.2, optimizer halved,
  // plus 1.5x its formula (the exposed fractions of the fallback).
  MeasuredPoint dp2 = Point(2, 1, ScalingMode::kWeak, 2, 1.2 * c2, 2 * dp_formula, {grads});
  MeasuredPoint tp2 = Point(1, 2, ScalingMode::kWeak, 2, 1.2 * c2 * 0.6, 1.5 * tp_formula, {acts});
  tp2.median.optimizer_s = 0.005;
  tp2.median.total_s = tp2.median.compute_s + tp2.median.comm_s + 0.005;
  std::vector<MeasuredPoint> points = {Point(1, 1, ScalingMode::kWeak, 2, c2, 0),
                                       Point(1, 1, ScalingMode::kStrong, 8, 0.01 + 0.05 * 8, 0), dp2, tp2};
  absl::StatusOr<StepModel> model = FitStepModel(points, links, /*cores_per_machine=*/2, /*zero1=*/false, &calibration);
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_TRUE(model->calibrated);
  EXPECT_NEAR(model->SlowdownAt(4), 3, 1e-12);
  EXPECT_NEAR(model->tp_serial_fraction, 0.2, 1e-9);
  // What the 2-rank points waited beyond compute and formula is reported, not used.
  EXPECT_NEAR(model->dp2_wait_s, dp_formula, 1e-9);
  EXPECT_NEAR(model->tp2_wait_s, 0.5 * tp_formula, 1e-9);
  EXPECT_NEAR(PredictStep(*model, dp2.point, 1, 2).total_s, 1.2 * c2 + 0.01 + dp_formula, 1e-9);
  // Held out: dp 2 x tp 2 at micro-batch 4 on 4 ranks: the probe at 4, twice the sequences, 0.6 of it per tp rank.
  ScalingPoint held;
  held.ranks = 4;
  held.dp = 2;
  held.tp = 2;
  held.layout = ScalingLayout::kDpTp;
  held.micro_batch = 4;
  held.global_batch = 8;
  const StepBreakdown b = PredictStep(*model, held, /*hosts=*/1, /*ranks_per_machine=*/4);
  EXPECT_NEAR(b.compute_s, 3 * c2 * 4 / 2 * 0.6, 1e-9);
  EXPECT_NEAR(b.optimizer_s, 0.02 / 2, 1e-12);
  const double dp_held = CollectiveSeconds(CollectiveKind::kAllReduce, 2, 1e6 / 2, link4);
  const double tp_held = CollectiveSeconds(CollectiveKind::kAllReduce, 2, 1e5 * 2, link4);
  EXPECT_NEAR(b.comm_s, dp_held + tp_held, 1e-9);
  // A size without probes falls back to contention x ranks / cores, the pair link and the exposed fractions.
  EXPECT_NEAR(model->dp_exposed_fraction, 2, 1e-6);
  EXPECT_NEAR(model->tp_exposed_fraction, 1.5, 1e-6);
  held.ranks = 8;
  held.dp = 4;
  const StepBreakdown fallback = PredictStep(*model, held, 1, 8);
  EXPECT_GT(fallback.compute_s, 0);
  EXPECT_NEAR(fallback.comm_s,
              2 * CollectiveSeconds(CollectiveKind::kAllReduce, 4, 1e6 / 2, links.intra_host) +
                  1.5 * CollectiveSeconds(CollectiveKind::kAllReduce, 2, 1e5 * 2, links.intra_host),
              1e-9);
}

TEST(ScalingBenchTest, PoolRoundsTakesTheMedianStepOverAllRounds) {
  // Steps 0.5 0.6 | 0.1 0.2 | 0.3(+0.01) 0.9: sorted 0.1 0.2 0.31 0.5 0.6 0.9, lower middle 0.31.
  std::vector<MeasuredPoint> rounds = {Round({0.5, 0.6}), Round({0.1, 0.2}), Round({0.3, 0.9}, 0)};
  MeasuredPoint pooled = PoolRounds(rounds);
  EXPECT_EQ(pooled.steps.size(), 6u);
  EXPECT_EQ(pooled.step_totals.size(), 6u);
  EXPECT_NEAR(pooled.median.comm_s, 0.01, 1e-12);  // the breakdown of that step, kept whole
  EXPECT_NEAR(pooled.median.total_s, 0.31, 1e-12);
  EXPECT_EQ(pooled.slowest_rank, 0);
  EXPECT_NEAR(pooled.tokens_per_s, 1 / 0.31, 1e-9);  // tokens per step from the first round
  rounds.pop_back();
  EXPECT_NEAR(PoolRounds(rounds).median.compute_s, 0.2, 1e-12);  // 0.1 0.2 0.5 0.6: the lower middle
  EXPECT_EQ(PoolRounds({}).median.total_s, 0);
  EXPECT_NEAR(PoolRounds(rounds, /*fastest=*/true).median.total_s, 0.1, 1e-12);  // the fastest of all rounds
  EXPECT_EQ(PoolRounds(rounds, /*fastest=*/true).slowest_rank, 0);
}

TEST(ClusterProjectionTest, ExposedTimeFollowsTheBucketPipeline) {
  // One bucket: it starts when backward ends, all of it is exposed.
  EXPECT_NEAR(ExposedAllReduceSeconds(100, 100, 1.0, [](double) { return 0.5; }), 0.5, 1e-12);
  // Two buckets of 0.3 s: the first runs during backward (0.5 -> 0.8), the second after it (1.0 -> 1.3).
  EXPECT_NEAR(ExposedAllReduceSeconds(100, 50, 1.0, [](double) { return 0.3; }), 0.3, 1e-12);
  // Ten slow buckets: the link is the bottleneck, 10 x 0.2 s from 0.1 s on.
  EXPECT_NEAR(ExposedAllReduceSeconds(100, 10, 1.0, [](double) { return 0.2; }), 1.1, 1e-12);
  EXPECT_EQ(ExposedAllReduceSeconds(0, 10, 1.0, [](double) { return 1.0; }), 0);
}

TEST(ClusterProjectionTest, ProjectsEveryModelAndGpuCount) {
  config::ClusterSpec spec;  // defaults: 8 x H100, 370 / 45 GB/s
  absl::StatusOr<std::vector<ProjectedPoint>> projection = ProjectCluster(spec);
  ASSERT_TRUE(projection.ok()) << projection.status();
  ASSERT_EQ(projection->size(), 32u);
  const ProjectedPoint& first = projection->front();
  EXPECT_EQ(first.preset, "gpt2_124m");
  EXPECT_EQ(first.gpus, 8);
  EXPECT_EQ(first.hosts, 1);
  // 124M at 8 GPUs: bf16 gradients over NVLink, 2 x 7/8 x 248 MB / 370 GB/s ~ 1.2 ms, hidden behind backward.
  EXPECT_NEAR(first.allreduce_s, 2.0 * 7 / 8 * first.parameters * 2 / 370e9, 2e-4);
  EXPECT_LT(first.exposed_s, first.allreduce_s);
  for (const ProjectedPoint& p : *projection) {
    EXPECT_NEAR(p.step_s, p.compute_s + p.exposed_s, 1e-12);
    EXPECT_LE(p.best_exposed_s, p.exposed_s + 1e-12);
    EXPECT_GT(p.efficiency, 0);
    EXPECT_LE(p.efficiency, 1);
  }
  // Crossing hosts (16 GPUs) costs more than staying on NVLink (8).
  EXPECT_GT((*projection)[1].allreduce_s, first.allreduce_s);
  spec.set_backward_fraction(0);
  EXPECT_FALSE(ProjectCluster(spec).ok());
}

TEST(ScalingReportTest, TablesJsonLinesAndPage) {
  ScalingReport report;
  report.title = "kachi bench scaling: test";
  report.setup = "4 ranks";
  report.points = {Point(1, 1, ScalingMode::kWeak, 2, 0.1, 0), Point(2, 1, ScalingMode::kWeak, 2, 0.1, 0.02),
                   Point(4, 1, ScalingMode::kWeak, 2, 0.1, 0.04)};
  for (MeasuredPoint& m : report.points) m.efficiency = 0.11 / m.median.total_s;
  report.predicted = {report.points[0].median, report.points[1].median, report.points[2].median};
  report.predicted[2].total_s *= 1.1;
  report.held_out = {false, false, true};
  report.has_model = true;
  absl::StatusOr<std::vector<ProjectedPoint>> projection = ProjectCluster(config::ClusterSpec());
  ASSERT_TRUE(projection.ok());
  report.projection = *projection;
  double median = 0, worst = 0;
  ASSERT_TRUE(HeldOutError(report, &median, &worst));
  EXPECT_NEAR(median, 0.1, 1e-9);
  std::ostringstream text;
  PrintScalingReport(report, text);
  EXPECT_THAT(text.str(), HasSubstr("held-out prediction error (points with more than 2 ranks): median 10.0%"));
  EXPECT_THAT(text.str(), HasSubstr("communication exposed"));
  const std::string jsonl = ScalingJsonLines(report);
  EXPECT_EQ(std::count(jsonl.begin(), jsonl.end(), '\n'), 3 + 1 + 1 + 1 + 32);  // points, link, model, held-out
  const std::string html = RenderScalingHtml(report);
  size_t svgs = 0;
  for (size_t at = html.find("<svg"); at != std::string::npos; at = html.find("<svg", at + 1)) ++svgs;
  EXPECT_EQ(svgs, 3u);
  EXPECT_THAT(html, HasSubstr("<polyline"));
  EXPECT_THAT(html, HasSubstr("Held-out prediction error"));
}

// A fake collective observed by the timeline.
void FakeCollective(StepTimeline& timeline, double seconds, size_t bytes) {
  const absl::Time begin = absl::Now();
  timeline.OnCollective(CollectiveKind::kAllReduce, "world/dp", 2, bytes, begin, begin + absl::Seconds(seconds));
}

TEST(StepTimelineTest, BreakdownAddsUpAndSubtractsNestedCommunication) {
  StepTimeline timeline;
  ScopedTimeline attach(&timeline);
  EXPECT_EQ(StepTimeline::ForThisThread(), &timeline);
  timeline.BeginStep(0);
  const absl::Time t0 = absl::Now();
  timeline.AddSpan(TimelineCategory::kData, "micro_batch", t0, t0 + absl::Milliseconds(2));
  FakeCollective(timeline, 0.003, 4096);
  // An optimizer phase of 10 ms with 4 ms of collectives inside counts 6 ms.
  FakeCollective(timeline, 0.004, 8);
  timeline.AddSpan(TimelineCategory::kOptimizer, "adamw", t0, t0 + absl::Milliseconds(10), 0.004);
  absl::SleepFor(absl::Milliseconds(30));
  const StepBreakdown b = timeline.EndStep();
  EXPECT_NEAR(b.data_s, 0.002, 1e-9);
  EXPECT_NEAR(b.comm_s, 0.007, 1e-9);
  EXPECT_NEAR(b.optimizer_s, 0.006, 1e-9);
  EXPECT_GE(b.total_s, 0.03);
  EXPECT_NEAR(b.compute_s + b.comm_s + b.optimizer_s + b.data_s + b.checkpoint_s, b.total_s, 1e-9);
  // Outside a step nothing is recorded.
  FakeCollective(timeline, 1.0, 4);
  EXPECT_EQ(timeline.steps().size(), 1u);
  const std::string events = timeline.ToChromeTraceEvents(3, "rank 3", timeline.first_event_time());
  EXPECT_THAT(events, HasSubstr(R"("name": "process_name", "ph": "M")"));
  EXPECT_THAT(events, HasSubstr(R"("name": "all_reduce", "cat": "comm", "ph": "X")"));
  EXPECT_THAT(events, HasSubstr(R"("args": {"bytes": 4096, "comm": "world/dp", "ranks": 2})"));
  EXPECT_THAT(events, HasSubstr(R"("cat": "step")"));
  EXPECT_THAT(ChromeTraceDocument({events, ""}), HasSubstr("{\"displayTimeUnit\": \"ms\", \"traceEvents\": [\n"));
}

TEST(StepTimelineTest, ScopesUseTheThreadsTimelineAndIgnoreOtherThreads) {
  StepTimeline timeline;
  {
    TimelineScope nothing(TimelineCategory::kData, "no timeline attached");
  }
  ScopedTimeline attach(&timeline);
  timeline.BeginStep(0);
  {
    TimelineScope data(TimelineCategory::kData, "micro_batch");
    absl::SleepFor(absl::Milliseconds(5));
  }
  const StepBreakdown b = timeline.EndStep();
  EXPECT_GE(b.data_s, 0.004);
  EXPECT_EQ(timeline.events().size(), 2u);  // the data phase and the step
}

}  // namespace
}  // namespace kachi
