// `kachi bench scaling` end to end (see scaling_bench.h).
#include "bench/scaling/scaling_bench.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "bench/scaling/collective_sweep.h"
#include "bench/scaling/scaling_plan.h"

namespace kachi {
namespace {

absl::StatusOr<ScalingPlanInputs> PlanInputs(const ScalingBenchSetup& setup) {
  const config::ScalingBenchConfig& c = setup.scaling;
  ScalingPlanInputs inputs;
  inputs.world_size = setup.run.parent->size();
  inputs.ranks_per_host = setup.run.ranks_per_node;
  inputs.shape = setup.run.base.shape;
  for (uint32_t n : c.ranks()) inputs.sizes.push_back(static_cast<int>(n));
  for (const std::string& name : c.layouts()) {
    absl::StatusOr<ScalingLayout> layout = ParseScalingLayout(name);
    if (!layout.ok()) return absl::InvalidArgumentError(absl::StrCat("--bench_scaling layouts: ", layout.status().message()));
    inputs.layouts.push_back(*layout);
  }
  for (const std::string& name : c.modes()) {
    absl::StatusOr<ScalingMode> mode = ParseScalingMode(name);
    if (!mode.ok()) return absl::InvalidArgumentError(absl::StrCat("--bench_scaling modes: ", mode.status().message()));
    inputs.modes.push_back(*mode);
  }
  inputs.micro_batch = c.micro_batch() > 0 ? c.micro_batch() : setup.run.base.micro_batch;
  inputs.global_batch = c.global_batch();
  inputs.dp_tp_width = static_cast<int>(c.tp());
  return inputs;
}

// Job ranks for the sweeps: the first two ranks of host 0, and rank 0 with the first rank of another host.
std::vector<int> IntraHostPair(const ScalingRunContext& run) {
  for (int r = 1; r < static_cast<int>(run.host_of_rank.size()); ++r) {
    if (run.host_of_rank[r] == run.host_of_rank[0]) return {0, r};
  }
  return {};
}
std::vector<int> InterHostPair(const ScalingRunContext& run) {
  for (int r = 1; r < static_cast<int>(run.host_of_rank.size()); ++r) {
    if (run.host_of_rank[r] != run.host_of_rank[0]) return {0, r};
  }
  return {};
}

// Sub-world sizes the plan measures, ascending (1 included).
std::vector<int> PlannedSizes(const std::vector<ScalingPoint>& plan) {
  std::vector<int> sizes = {1};
  for (const ScalingPoint& p : plan) {
    if (std::find(sizes.begin(), sizes.end(), p.ranks) == sizes.end()) sizes.push_back(p.ranks);
  }
  std::sort(sizes.begin(), sizes.end());
  return sizes;
}

// The largest collective payload any point issued (rank 0's schedules), agreed over the job.
uint64_t LargestCollectiveBytes(const std::vector<MeasuredPoint>& points, MPI_Comm job) {
  uint64_t largest = 0;
  for (const MeasuredPoint& m : points) {
    for (const CollectiveCall& call : m.schedule) largest = std::max<uint64_t>(largest, call.bytes);
  }
  MPI_Bcast(&largest, 1, MPI_UINT64_T, 0, job);
  return largest;
}

}  // namespace

MeasuredPoint PoolRounds(std::vector<MeasuredPoint> rounds, bool fastest) {
  if (rounds.empty()) return MeasuredPoint{};
  MeasuredPoint pooled = rounds.front();
  pooled.step_totals.clear();
  pooled.steps.clear();
  pooled.step_ranks.clear();
  for (const MeasuredPoint& round : rounds) {
    pooled.step_totals.insert(pooled.step_totals.end(), round.step_totals.begin(), round.step_totals.end());
    pooled.steps.insert(pooled.steps.end(), round.steps.begin(), round.steps.end());
    pooled.step_ranks.insert(pooled.step_ranks.end(), round.step_ranks.begin(), round.step_ranks.end());
  }
  if (pooled.steps.empty()) return pooled;
  std::vector<size_t> order(pooled.steps.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return pooled.steps[a].total_s < pooled.steps[b].total_s; });
  const size_t median = fastest ? order.front() : order[(order.size() - 1) / 2];
  const double tokens = pooled.tokens_per_s * pooled.median.total_s;  // tokens per step
  const double mfu_per_token_s = pooled.tokens_per_s > 0 ? pooled.mfu / pooled.tokens_per_s : 0;
  pooled.median = pooled.steps[median];
  pooled.slowest_rank = median < pooled.step_ranks.size() ? pooled.step_ranks[median] : pooled.slowest_rank;
  pooled.tokens_per_s = pooled.median.total_s > 0 ? tokens / pooled.median.total_s : 0;
  pooled.mfu = mfu_per_token_s * pooled.tokens_per_s;
  return pooled;
}

absl::StatusOr<ScalingReport> RunScalingBench(const ScalingBenchSetup& setup) {
  const bool leader = setup.run.parent->rank() == 0;
  absl::StatusOr<ScalingPlanInputs> inputs = PlanInputs(setup);
  if (!inputs.ok()) return inputs.status();
  ScalingReport report;
  absl::StatusOr<std::vector<ScalingPoint>> plan = PlanScaling(*inputs, &report.skipped);
  if (!plan.ok()) return plan.status();
  const int rounds = std::max<int>(1, setup.scaling.rounds());
  if (setup.scaling.statistic() != "median" && setup.scaling.statistic() != "fastest") {
    return absl::InvalidArgumentError(absl::StrCat("--bench_scaling statistic: \"", setup.scaling.statistic(),
                                                   "\"; expected \"median\" or \"fastest\""));
  }
  const bool fastest = setup.scaling.statistic() == "fastest";
  std::vector<std::vector<MeasuredPoint>> by_point(plan->size());
  // Every round walks the sizes in order: the compute probe of a size (calibrate), then the points of that size,
  // so that a probe and the points it predicts are measured minutes apart at most and drifting load hits them alike.
  const std::vector<int> sizes = PlannedSizes(*plan);
  const bool calibrate = setup.scaling.calibrate();
  std::vector<std::vector<MeasuredPoint>> by_probe(sizes.size());
  ScalingRunContext probe_context = setup.run;
  probe_context.timed_steps = static_cast<int>(std::max<uint32_t>(1, setup.scaling.calibration_steps()));
  auto round_note = [&](int round) {
    return rounds > 1 ? absl::StrFormat(", round %d of %d", round + 1, rounds) : std::string();
  };
  for (int round = 0; round < rounds; ++round) {
    for (size_t s = 0; s < sizes.size(); ++s) {
      if (calibrate) {
        absl::StatusOr<MeasuredPoint> probe = MeasureComputeProbe(probe_context, sizes[s], inputs->micro_batch);
        if (!probe.ok()) return probe.status();
        if (leader && setup.progress != nullptr) {
          *setup.progress << absl::StrFormat("# calibration: %d rank(s) alone at once %9.2f ms compute (slowest rank "
                                             "%d)%s\n",
                                             sizes[s], probe->median.compute_s * 1e3, probe->slowest_rank,
                                             round_note(round));
          setup.progress->flush();
        }
        by_probe[s].push_back(*std::move(probe));
      }
      for (size_t i = 0; i < plan->size(); ++i) {
        if ((*plan)[i].ranks != sizes[s]) continue;
        absl::StatusOr<MeasuredPoint> measured = MeasurePoint(setup.run, (*plan)[i]);
        if (!measured.ok()) return measured.status();
        if (leader && setup.progress != nullptr) {
          *setup.progress << absl::StrFormat("# measured %-24s %9.2f ms/step (slowest rank %d)%s\n",
                                             (*plan)[i].Label(), measured->median.total_s * 1e3,
                                             measured->slowest_rank, round_note(round));
          setup.progress->flush();
        }
        by_point[i].push_back(*std::move(measured));
      }
    }
  }
  for (std::vector<MeasuredPoint>& measured : by_point) {
    report.points.push_back(PoolRounds(std::move(measured), fastest));
  }
  // Efficiency against the 1-rank point of the same mode.
  for (MeasuredPoint& m : report.points) {
    for (const MeasuredPoint& base : report.points) {
      if (base.point.ranks == 1 && base.point.mode == m.point.mode && base.tokens_per_s > 0) {
        m.efficiency = m.tokens_per_s / (m.point.ranks * base.tokens_per_s);
      }
    }
  }
  // The links, timed in this job.
  SweepOptions sweep;
  sweep.min_bytes = setup.scaling.sweep_min_bytes();
  sweep.max_bytes = setup.scaling.sweep_max_bytes();
  sweep.iters = static_cast<int>(setup.scaling.sweep_iters());
  const std::vector<int> intra = IntraHostPair(setup.run), inter = InterHostPair(setup.run);
  if (!intra.empty()) {
    absl::StatusOr<std::vector<CollectiveSample>> samples =
        SweepAllReduce(*setup.run.parent, setup.run.job, intra, sweep);
    if (!samples.ok()) return samples.status();
    report.intra_host_samples = *std::move(samples);
  }
  if (!inter.empty()) {
    absl::StatusOr<std::vector<CollectiveSample>> samples =
        SweepAllReduce(*setup.run.parent, setup.run.job, inter, sweep);
    if (!samples.ok()) return samples.status();
    report.inter_host_samples = *std::move(samples);
  }
  // Calibration: per size, the compute probe's pooled rounds and a sweep on the first N ranks up to the largest
  // collective the points issued.
  if (calibrate) {
    SweepOptions wide = sweep;
    const uint64_t largest = LargestCollectiveBytes(report.points, setup.run.job);
    while (wide.max_bytes < largest) wide.max_bytes *= 4;
    for (size_t i = 0; i < sizes.size(); ++i) {
      SubWorldCalibration size;
      size.ranks = sizes[i];
      size.compute = PoolRounds(std::move(by_probe[i]), fastest);
      if (sizes[i] >= 2) {
        std::vector<int> members;
        for (int r = 0; r < sizes[i]; ++r) members.push_back(r);
        absl::StatusOr<std::vector<CollectiveSample>> samples =
            SweepAllReduce(*setup.run.parent, setup.run.job, members, wide);
        if (!samples.ok()) return samples.status();
        size.sweep = *std::move(samples);
      }
      report.calibration.sizes.push_back(std::move(size));
    }
  }
  if (!leader) return ScalingReport{};
  report.title = setup.title;
  if (!report.intra_host_samples.empty()) {
    absl::StatusOr<AlphaBeta> link = FitAllReduceAlphaBeta(report.intra_host_samples);
    if (!link.ok()) return link.status();
    report.links.intra_host = *link;
  }
  if (!report.inter_host_samples.empty()) {
    absl::StatusOr<AlphaBeta> link = FitAllReduceAlphaBeta(report.inter_host_samples);
    if (!link.ok()) return link.status();
    report.links.inter_host = *link;
    report.links.has_inter_host = true;
  }
  for (SubWorldCalibration& size : report.calibration.sizes) {
    if (size.sweep.empty()) continue;
    absl::StatusOr<AlphaBeta> link = FitAllReduceAlphaBeta(size.sweep);
    if (!link.ok()) return link.status();
    size.link = *link;
    size.has_link = true;
  }
  absl::StatusOr<StepModel> model = FitStepModel(report.points, report.links, setup.cores_per_machine,
                                                 setup.run.base.zero1, &report.calibration);
  if (model.ok()) {
    report.model = *model;
    report.has_model = true;
    for (const MeasuredPoint& m : report.points) {
      report.predicted.push_back(PredictStep(report.model, m.point, m.hosts, m.ranks_per_machine));
      report.held_out.push_back(m.point.ranks > 2);
    }
  }
  if (setup.project) {
    report.cluster = setup.cluster;
    absl::StatusOr<std::vector<ProjectedPoint>> projection = ProjectCluster(setup.cluster);
    if (!projection.ok()) return projection.status();
    report.projection = *std::move(projection);
  }
  return report;
}

}  // namespace kachi
