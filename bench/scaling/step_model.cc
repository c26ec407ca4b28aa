// Fitting and evaluating the step cost model (see step_model.h).
#include "bench/scaling/step_model.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace kachi {
namespace {

// Payloads up to this size are scalars (loss, norms): their size does not follow the model's.
constexpr int64_t kScalarBytes = 1024;

const MeasuredPoint* Find(const std::vector<MeasuredPoint>& points, int dp, int tp, ScalingMode mode) {
  for (const MeasuredPoint& p : points) {
    if (p.point.dp == dp && p.point.tp == tp && p.point.mode == mode) return &p;
  }
  return nullptr;
}

// The point of either mode, weak first.
const MeasuredPoint* FindAnyMode(const std::vector<MeasuredPoint>& points, int dp, int tp) {
  const MeasuredPoint* weak = Find(points, dp, tp, ScalingMode::kWeak);
  return weak != nullptr ? weak : Find(points, dp, tp, ScalingMode::kStrong);
}

double ComputeAt(const StepModel& m, double sequences) { return m.compute_fixed_s + m.compute_per_seq_s * sequences; }

// The probe's compute resized from its micro-batch to `sequences`, in proportion (not by the 1-rank line: its
// intercept rests on two noisy points and swings far on a shared machine).
double ProbeComputeAt(const StepModel& m, const StepBreakdown& probe, double sequences) {
  return probe.compute_s * sequences / m.probe_micro_batch;
}

// Calls of `group` with more than one rank.
std::vector<CollectiveCall> Calls(const MeasuredPoint& point, const std::string& group) {
  std::vector<CollectiveCall> calls;
  for (const CollectiveCall& call : point.schedule) {
    if (call.group == group && call.ranks > 1) calls.push_back(call);
  }
  return calls;
}

}  // namespace

namespace {

// What a 2-rank point waited beyond its collectives' formula: its measured comm; calibrated, the measured step minus
// the model's other parts (compute from the probe's slowest rank, which waits for no one), >= 0.
double ExposedSeconds(const StepModel& m, const MeasuredPoint& point) {
  if (!m.calibrated) return point.median.comm_s;
  const StepBreakdown b = PredictStep(m, point.point, point.hosts, point.ranks_per_machine);
  return std::max(0.0, point.median.total_s - (b.total_s - b.comm_s));
}

}  // namespace

const StepBreakdown* StepModel::ProbeAt(int ranks) const {
  for (const auto& [n, probe] : probes) {
    if (n == ranks) return &probe;
  }
  return nullptr;
}

double StepModel::SlowdownAt(int ranks) const {
  const StepBreakdown* at = ProbeAt(ranks);
  const StepBreakdown* alone = ProbeAt(1);
  return at != nullptr && alone != nullptr && alone->compute_s > 0 ? at->compute_s / alone->compute_s : 0;
}

const AlphaBeta* StepModel::LinkAt(int ranks) const {
  for (const auto& [n, link] : link_by_ranks) {
    if (n == ranks) return &link;
  }
  return nullptr;
}

CommPrediction PredictCollectives(const StepModel& model, const ScalingPoint& point, int hosts) {
  CommPrediction out;
  // The link swept on the point's own ranks when calibrated (it spans the hosts the sub-world spans).
  const AlphaBeta* swept = model.LinkAt(point.ranks);
  const AlphaBeta& dp_link = swept != nullptr                                 ? *swept
                             : hosts > 1 && model.links.has_inter_host ? model.links.inter_host
                                                                            : model.links.intra_host;
  const AlphaBeta& tp_link = swept != nullptr ? *swept : model.links.intra_host;
  if (point.dp > 1) {
    for (const CollectiveCall& call : model.dp_schedule) {
      double bytes = static_cast<double>(call.bytes);
      if (call.bytes > kScalarBytes) {
        bytes /= point.tp;  // each tp rank reduces its shard of the parameters
        if (call.kind == CollectiveKind::kAllGather) bytes *= static_cast<double>(call.ranks) / point.dp;
      }
      out.dp_s += CollectiveSeconds(call.kind, point.dp, bytes, dp_link);
    }
  }
  if (point.tp > 1) {
    const double scale = static_cast<double>(point.micro_batch) / model.tp_schedule_micro_batch;
    for (const CollectiveCall& call : model.tp_schedule) {
      const double bytes = call.bytes > kScalarBytes ? call.bytes * scale : call.bytes;
      out.tp_s += CollectiveSeconds(call.kind, point.tp, bytes, tp_link);
    }
  }
  return out;
}

absl::StatusOr<StepModel> FitStepModel(const std::vector<MeasuredPoint>& points, const LinkModel& links,
                                       int cores_per_machine, bool zero1, const ScalingCalibration* calibration) {
  StepModel m;
  m.links = links;
  m.cores_per_machine = std::max(1, cores_per_machine);
  m.zero1 = zero1;
  const MeasuredPoint* weak1 = Find(points, 1, 1, ScalingMode::kWeak);
  const MeasuredPoint* strong1 = Find(points, 1, 1, ScalingMode::kStrong);
  const MeasuredPoint* one = weak1 != nullptr ? weak1 : strong1;
  if (one == nullptr) return absl::FailedPreconditionError("the step model needs a 1-rank point (--bench_scaling ranks)");
  // Compute: a line through the 1-rank points (through the origin when there is one batch size).
  const double b1 = one->point.micro_batch;
  if (weak1 != nullptr && strong1 != nullptr && strong1->point.micro_batch != weak1->point.micro_batch) {
    const double bw = weak1->point.micro_batch, bs = strong1->point.micro_batch;
    m.compute_per_seq_s = (strong1->median.compute_s - weak1->median.compute_s) / (bs - bw);
    m.compute_fixed_s = weak1->median.compute_s - m.compute_per_seq_s * bw;
    if (m.compute_fixed_s < 0 || m.compute_per_seq_s < 0) {  // noise: fall back to proportional
      m.compute_fixed_s = 0;
      m.compute_per_seq_s = one->median.compute_s / b1;
    }
  } else {
    m.compute_per_seq_s = one->median.compute_s / b1;
  }
  if (calibration != nullptr) {
    for (const SubWorldCalibration& size : calibration->sizes) {
      if (size.compute.median.compute_s > 0) {
        m.probes.emplace_back(size.ranks, size.compute.median);
        m.probe_micro_batch = std::max<int64_t>(1, size.compute.point.micro_batch);
      }
      if (size.has_link) m.link_by_ranks.emplace_back(size.ranks, size.link);
    }
    m.calibrated = !m.probes.empty();
  }
  m.data_per_seq_s = one->median.data_s / b1;
  m.optimizer_s = one->median.optimizer_s;
  m.checkpoint_s = one->median.checkpoint_s;
  // Two ranks on one machine: contention, the dp schedule and its exposed fraction.
  if (const MeasuredPoint* dp2 = FindAnyMode(points, 2, 1); dp2 != nullptr) {
    const double alone = ComputeAt(m, dp2->point.micro_batch);
    if (alone > 0) m.contention = std::max(0.5, dp2->median.compute_s / alone);
    m.dp_schedule = Calls(*dp2, "dp");
    const double formula = PredictCollectives(m, dp2->point, dp2->hosts).dp_s;
    if (formula > 0) m.dp_exposed_fraction = ExposedSeconds(m, *dp2) / formula;
    m.dp2_wait_s = dp2->median.total_s - PredictStep(m, dp2->point, dp2->hosts, dp2->ranks_per_machine).total_s;
  }
  if (const MeasuredPoint* tp2 = FindAnyMode(points, 1, 2); tp2 != nullptr) {
    const StepBreakdown* probed = m.ProbeAt(2);
    const double full = probed != nullptr ? ProbeComputeAt(m, *probed, tp2->point.micro_batch)
                                          : ComputeAt(m, tp2->point.micro_batch) * m.contention;
    if (full > 0) m.tp_serial_fraction = std::clamp(2 * tp2->median.compute_s / full - 1, 0.0, 1.0);
    m.tp_schedule = Calls(*tp2, "tp");
    m.tp_schedule_micro_batch = std::max<int64_t>(1, tp2->point.micro_batch);
    const double formula = PredictCollectives(m, tp2->point, 1).tp_s;
    if (formula > 0) m.tp_exposed_fraction = ExposedSeconds(m, *tp2) / formula;
    m.tp2_wait_s = tp2->median.total_s - PredictStep(m, tp2->point, tp2->hosts, tp2->ranks_per_machine).total_s;
  }
  return m;
}

StepBreakdown PredictStep(const StepModel& m, const ScalingPoint& point, int hosts, int ranks_per_machine) {
  StepBreakdown b;
  const double tp_share = m.tp_serial_fraction + (1 - m.tp_serial_fraction) / point.tp;
  const double state_share = 1.0 / point.tp / (m.zero1 ? point.dp : 1);  // of the parameters / optimizer state
  if (const StepBreakdown* probe = m.ProbeAt(point.ranks); probe != nullptr) {
    // Measured at this size by the compute probe (ranks alone at once, the slowest).
    b.compute_s = ProbeComputeAt(m, *probe, point.micro_batch) * tp_share;
    b.data_s = probe->data_s * point.micro_batch / m.probe_micro_batch;
    b.optimizer_s = probe->optimizer_s * state_share;
  } else {
    const double slowdown = std::max(1.0, static_cast<double>(ranks_per_machine) / m.cores_per_machine);
    const double contention = ranks_per_machine >= 2 ? m.contention : 1.0;
    b.compute_s = ComputeAt(m, point.micro_batch) * contention * tp_share * slowdown;
    b.data_s = m.data_per_seq_s * point.micro_batch * slowdown;
    b.optimizer_s = m.optimizer_s * state_share * slowdown;
  }
  b.checkpoint_s = m.checkpoint_s * state_share;  // this rank's share of the state
  const CommPrediction comm = PredictCollectives(m, point, hosts);
  b.comm_s = m.calibrated && m.ProbeAt(point.ranks) != nullptr
                 ? comm.dp_s + comm.tp_s  // on the link of these ranks; waits are in the probe's slowest rank
                 : comm.dp_s * m.dp_exposed_fraction + comm.tp_s * m.tp_exposed_fraction;
  b.total_s = b.compute_s + b.comm_s + b.optimizer_s + b.data_s + b.checkpoint_s;
  return b;
}

}  // namespace kachi
