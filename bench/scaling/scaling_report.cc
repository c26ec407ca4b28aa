// Tables and JSON lines of `kachi bench scaling` (see scaling_report.h).
#include "bench/scaling/scaling_report.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace kachi {
namespace {

double Ms(double seconds) { return seconds * 1e3; }

// The first GPU count of `preset` whose step waits on communication (exposed > 1% of compute), or 0.
int FirstExposed(const std::vector<ProjectedPoint>& projection, const std::string& preset) {
  for (const ProjectedPoint& p : projection) {
    if (p.preset == preset && p.exposed_s > 0.01 * p.compute_s) return p.gpus;
  }
  return 0;
}

std::string Mib(uint64_t bytes) { return absl::StrFormat("%d MiB", bytes >> 20); }

// "min .. max ms" of step times.
std::string StepSpread(const std::vector<double>& steps) {
  if (steps.empty()) return "-";
  const auto [lo, hi] = std::minmax_element(steps.begin(), steps.end());
  return absl::StrFormat("%.1f .. %.1f ms", Ms(*lo), Ms(*hi));
}

// "-12/+40%": the fastest and slowest step against `median` ("-" without steps).
std::string RelativeSpread(const std::vector<double>& steps, double median) {
  if (steps.empty() || median <= 0) return "-";
  const auto [lo, hi] = std::minmax_element(steps.begin(), steps.end());
  return absl::StrFormat("%+.0f/%+.0f%%", (*lo / median - 1) * 100, (*hi / median - 1) * 100);
}

// "[1.234, 5.678]": step times in ms.
std::string MsList(const std::vector<double>& steps) {
  return absl::StrCat("[", absl::StrJoin(steps, ", ", [](std::string* o, double t) {
                        absl::StrAppendFormat(o, "%.3f", Ms(t));
                      }), "]");
}

}  // namespace

double PredictionError(const ScalingReport& report, size_t i) {
  if (i >= report.predicted.size() || report.points[i].median.total_s <= 0) return 0;
  return (report.predicted[i].total_s - report.points[i].median.total_s) / report.points[i].median.total_s;
}

bool HeldOutError(const ScalingReport& report, double* median_abs, double* max_abs) {
  std::vector<double> errors;
  for (size_t i = 0; i < report.points.size() && i < report.predicted.size(); ++i) {
    if (report.held_out[i]) errors.push_back(std::fabs(PredictionError(report, i)));
  }
  if (errors.empty()) return false;
  std::sort(errors.begin(), errors.end());
  *median_abs = errors.size() % 2 ? errors[errors.size() / 2]
                                  : 0.5 * (errors[errors.size() / 2 - 1] + errors[errors.size() / 2]);
  *max_abs = errors.back();
  return true;
}

void PrintScalingReport(const ScalingReport& report, std::ostream& out) {
  out << "# " << report.title << "\n# " << report.setup << "\n";
  for (const std::string& line : report.skipped) out << "# skipped: " << line << "\n";
  out << "# per step, the slowest rank of the reported step (setup line: median or fastest of the pooled rounds): "
         "compute, exposed comm (blocked in collectives), "
         "optimizer, data, checkpoint stall (ms); eff = tokens/s / (ranks x 1-rank tokens/s of the mode); pred = "
         "the step model fitted on the 1- and 2-rank points and the calibration probes (* = held out); spread = the "
         "fastest and slowest timed step (all rounds) against the reported one\n";
  out << absl::StrFormat("%-7s %-6s %5s %3s %3s %5s %5s %9s %9s %8s %8s %7s %7s %11s %10s %6s %6s %9s %8s %s\n",
                         "# mode", "layout", "ranks", "dp", "tp", "hosts", "batch", "step_ms", "compute", "comm",
                         "optim", "data", "ckpt", "tokens/s", "tok/s/rank", "eff", "MFU", "pred_ms", "error", "spread");
  for (size_t i = 0; i < report.points.size(); ++i) {
    const MeasuredPoint& m = report.points[i];
    const bool has_prediction = i < report.predicted.size();
    out << absl::StrFormat(
        "%-7s %-6s %5d %3d %3d %5d %5d %9.2f %9.2f %8.2f %8.2f %7.2f %7.2f %11.0f %10.0f %6.3f %6s %9s %8s %s\n",
        ScalingModeName(m.point.mode), m.point.ranks == 1 ? "1" : std::string(ScalingLayoutName(m.point.layout)),
        m.point.ranks, m.point.dp, m.point.tp, m.hosts, m.point.global_batch, Ms(m.median.total_s),
        Ms(m.median.compute_s), Ms(m.median.comm_s), Ms(m.median.optimizer_s), Ms(m.median.data_s),
        Ms(m.median.checkpoint_s), m.tokens_per_s, m.tokens_per_s / m.point.ranks, m.efficiency,
        m.mfu > 0 ? absl::StrFormat("%.1f%%", m.mfu * 100) : "-",
        has_prediction ? absl::StrFormat("%.2f%s", Ms(report.predicted[i].total_s), report.held_out[i] ? "*" : "")
                       : "-",
        has_prediction ? absl::StrFormat("%+.1f%%", PredictionError(report, i) * 100) : "-",
        RelativeSpread(m.step_totals, m.median.total_s));
  }
  auto print_link = [&](const char* where, const AlphaBeta& link, const std::vector<CollectiveSample>& samples) {
    out << absl::StrFormat("# alpha-beta %s: alpha %.1f us, busbw %.3f GB/s, fitted on %d all-reduces of %d ranks "
                           "(%d B .. %d B)\n",
                           where, link.alpha_s * 1e6, link.busbw_gbps(), samples.size(),
                           samples.empty() ? 0 : samples.front().ranks,
                           static_cast<int64_t>(samples.empty() ? 0 : samples.front().bytes),
                           static_cast<int64_t>(samples.empty() ? 0 : samples.back().bytes));
  };
  print_link("inside a host", report.links.intra_host, report.intra_host_samples);
  if (report.links.has_inter_host) print_link("across hosts", report.links.inter_host, report.inter_host_samples);
  for (const SubWorldCalibration& size : report.calibration.sizes) {
    const MeasuredPoint& probe = size.compute;
    std::string link = "-";
    if (size.has_link) {
      link = absl::StrFormat("alpha %.1f us, busbw %.3f GB/s (%d all-reduces, %d B .. %d B)", size.link.alpha_s * 1e6,
                             size.link.busbw_gbps(), size.sweep.size(), static_cast<int64_t>(size.sweep.front().bytes),
                             static_cast<int64_t>(size.sweep.back().bytes));
    }
    out << absl::StrFormat("# calibration %d rank(s): alone at once, micro-batch %d: compute %.2f ms (steps %s), "
                           "optimizer %.2f ms; all-reduce link on these ranks: %s\n",
                           size.ranks, probe.point.micro_batch, Ms(probe.median.compute_s),
                           StepSpread(probe.step_totals), Ms(probe.median.optimizer_s), link);
  }
  if (report.has_model && report.model.calibrated) {
    const StepModel& m = report.model;
    std::string slowdowns;
    for (const auto& [n, probe] : m.probes) absl::StrAppendFormat(&slowdowns, " %d:x%.2f", n, m.SlowdownAt(n));
    out << absl::StrFormat("# calibrated: every point's compute, optimizer and data from the compute probe at its "
                           "size (slowdown vs 1 rank alone%s), its collectives on the link swept on its own ranks "
                           "(exposed fractions not used); the held-out points themselves are not probed; the 2-rank "
                           "points waited %.2f ms (dp) and %.2f ms (tp) beyond the model\n",
                           slowdowns, Ms(m.dp2_wait_s), Ms(m.tp2_wait_s));
  }
  if (report.has_model) {
    const StepModel& m = report.model;
    out << absl::StrFormat(
        "# step model: compute %.2f ms + %.3f ms/sequence, 2-rank contention x%.2f, tp serial fraction %.2f, "
        "optimizer %.2f ms, exposed fraction dp %.2f tp %.2f, %d cores per machine (slower when ranks > cores)\n",
        Ms(m.compute_fixed_s), Ms(m.compute_per_seq_s), m.contention, m.tp_serial_fraction, Ms(m.optimizer_s),
        m.dp_exposed_fraction, m.tp_exposed_fraction, m.cores_per_machine);
  }
  double median = 0, worst = 0;
  if (HeldOutError(report, &median, &worst)) {
    out << absl::StrFormat("# held-out prediction error (points with more than 2 ranks): median %.1f%%, max %.1f%% "
                           "(goal: within 15%%)\n",
                           median * 100, worst * 100);
  } else {
    out << "# held-out prediction error: no point with more than 2 ranks (run on 4 or more ranks)\n";
  }
  if (report.projection.empty()) return;
  const config::ClusterSpec& c = report.cluster;
  out << absl::StrFormat(
      "#\n# projection to %s: %d GPUs per host, all-reduce busbw %.0f GB/s inside a host and %.0f GB/s per GPU "
      "across hosts, alpha %.1f / %.1f us, %.0f TFLOP/s per GPU, micro-batch %d x %d, %d-byte gradients in %s "
      "buckets, backward %.0f%% of compute\n",
      c.name().empty() ? std::string("the cluster") : c.name(), c.gpus_per_host(), c.intra_host_busbw_gbps(),
      c.inter_host_busbw_gbps(), c.intra_host_alpha_us(), c.inter_host_alpha_us(), c.gpu_tflops(), c.micro_batch(),
      c.seq_len(), c.grad_bytes(), Mib(c.bucket_bytes()), c.backward_fraction() * 100);
  out << absl::StrFormat("%-12s %8s %5s %5s %10s %12s %10s %9s %6s %9s %11s %12s\n", "# model", "params", "gpus",
                         "hosts", "compute_ms", "allreduce_ms", "exposed_ms", "step_ms", "eff", "Mtok/s",
                         "best_bucket", "exposed@best");
  for (const ProjectedPoint& p : report.projection) {
    out << absl::StrFormat("%-12s %7.0fM %5d %5d %10.2f %12.2f %10.2f %9.2f %6.3f %9.2f %11s %12.2f\n", p.preset,
                           p.parameters / 1e6, p.gpus, p.hosts, Ms(p.compute_s), Ms(p.allreduce_s), Ms(p.exposed_s),
                           Ms(p.step_s), p.efficiency, p.tokens_per_s / 1e6, Mib(p.best_bucket_bytes),
                           Ms(p.best_exposed_s));
  }
  std::vector<std::string> presets;
  for (const ProjectedPoint& p : report.projection) {
    if (std::find(presets.begin(), presets.end(), p.preset) == presets.end()) presets.push_back(p.preset);
  }
  for (const std::string& preset : presets) {
    const int first = FirstExposed(report.projection, preset);
    const ProjectedPoint* largest = nullptr;
    for (const ProjectedPoint& p : report.projection) {
      if (p.preset == preset) largest = &p;
    }
    // Backward hides the all-reduce once it lasts as long: micro-batch >= all-reduce / (backward per sequence).
    const double backward_per_seq = largest->compute_s * c.backward_fraction() / c.micro_batch();
    const int64_t hiding_micro = static_cast<int64_t>(std::ceil(largest->allreduce_s / backward_per_seq));
    out << absl::StrFormat("# %s: communication exposed (> 1%% of compute) from %s; at %d GPUs the best bucket is %s "
                           "(%.2f ms exposed, %.2f ms with %s); a micro-batch of >= %d x %d per GPU hides the "
                           "all-reduce behind backward\n",
                           preset, first > 0 ? absl::StrCat(first, " GPUs") : std::string("no projected count"),
                           largest->gpus, Mib(largest->best_bucket_bytes), Ms(largest->best_exposed_s),
                           Ms(largest->exposed_s), Mib(c.bucket_bytes()), hiding_micro, c.seq_len());
  }
}

std::string ScalingJsonLines(const ScalingReport& report) {
  std::string out;
  for (size_t i = 0; i < report.points.size(); ++i) {
    const MeasuredPoint& m = report.points[i];
    absl::StrAppendFormat(
        &out,
        "{\"record\": \"point\", \"mode\": \"%s\", \"layout\": \"%s\", \"ranks\": %d, \"dp\": %d, \"tp\": %d, "
        "\"hosts\": %d, \"global_batch\": %d, \"step_ms\": %.4f, \"compute_ms\": %.4f, \"comm_ms\": %.4f, "
        "\"optimizer_ms\": %.4f, \"data_ms\": %.4f, \"checkpoint_ms\": %.4f, \"slowest_rank\": %d, "
        "\"tokens_per_s\": %.2f, \"efficiency\": %.5f, \"mfu\": %.5f",
        ScalingModeName(m.point.mode), ScalingLayoutName(m.point.layout), m.point.ranks, m.point.dp, m.point.tp,
        m.hosts, m.point.global_batch, Ms(m.median.total_s), Ms(m.median.compute_s), Ms(m.median.comm_s),
        Ms(m.median.optimizer_s), Ms(m.median.data_s), Ms(m.median.checkpoint_s), m.slowest_rank, m.tokens_per_s,
        m.efficiency, m.mfu);
    absl::StrAppendFormat(&out, ", \"step_ms_all\": %s", MsList(m.step_totals));
    if (i < report.predicted.size()) {
      const CommPrediction formula = PredictCollectives(report.model, m.point, m.hosts);
      absl::StrAppendFormat(&out,
                            ", \"predicted_ms\": %.4f, \"predicted_compute_ms\": %.4f, \"predicted_comm_ms\": %.4f, "
                            "\"formula_dp_ms\": %.4f, \"formula_tp_ms\": %.4f, \"error\": %.5f, \"held_out\": %s",
                            Ms(report.predicted[i].total_s), Ms(report.predicted[i].compute_s),
                            Ms(report.predicted[i].comm_s), Ms(formula.dp_s), Ms(formula.tp_s),
                            PredictionError(report, i), report.held_out[i] ? "true" : "false");
    }
    out += "}\n";
  }
  auto link_line = [&](const char* where, const AlphaBeta& link) {
    absl::StrAppendFormat(&out, "{\"record\": \"link\", \"where\": \"%s\", \"alpha_us\": %.4f, \"busbw_gbps\": %.5f}\n",
                          where, link.alpha_s * 1e6, link.busbw_gbps());
  };
  link_line("intra_host", report.links.intra_host);
  if (report.links.has_inter_host) link_line("inter_host", report.links.inter_host);
  if (report.has_model) {
    const StepModel& m = report.model;
    absl::StrAppendFormat(&out,
                          "{\"record\": \"model\", \"compute_fixed_ms\": %.4f, \"compute_per_seq_ms\": %.4f, "
                          "\"contention\": %.4f, \"tp_serial_fraction\": %.4f, \"optimizer_ms\": %.4f, "
                          "\"dp_exposed_fraction\": %.4f, \"tp_exposed_fraction\": %.4f, \"cores_per_machine\": %d}\n",
                          Ms(m.compute_fixed_s), Ms(m.compute_per_seq_s), m.contention, m.tp_serial_fraction,
                          Ms(m.optimizer_s), m.dp_exposed_fraction, m.tp_exposed_fraction, m.cores_per_machine);
  }
  for (const SubWorldCalibration& size : report.calibration.sizes) {
    const MeasuredPoint& probe = size.compute;
    absl::StrAppendFormat(&out,
                          "{\"record\": \"calibration\", \"ranks\": %d, \"micro_batch\": %d, \"compute_ms\": %.4f, "
                          "\"optimizer_ms\": %.4f, \"data_ms\": %.4f, \"step_ms\": %.4f, \"step_ms_all\": %s",
                          size.ranks, probe.point.micro_batch, Ms(probe.median.compute_s),
                          Ms(probe.median.optimizer_s), Ms(probe.median.data_s), Ms(probe.median.total_s),
                          MsList(probe.step_totals));
    if (size.has_link) {
      absl::StrAppendFormat(&out, ", \"alpha_us\": %.4f, \"busbw_gbps\": %.5f", size.link.alpha_s * 1e6,
                            size.link.busbw_gbps());
    }
    out += "}\n";
  }
  double median = 0, worst = 0;
  if (HeldOutError(report, &median, &worst)) {
    absl::StrAppendFormat(&out, "{\"record\": \"held_out\", \"median_abs_error\": %.5f, \"max_abs_error\": %.5f}\n",
                          median, worst);
  }
  for (const ProjectedPoint& p : report.projection) {
    absl::StrAppendFormat(
        &out,
        "{\"record\": \"projection\", \"preset\": \"%s\", \"parameters\": %d, \"gpus\": %d, \"hosts\": %d, "
        "\"compute_ms\": %.4f, \"allreduce_ms\": %.4f, \"exposed_ms\": %.4f, \"step_ms\": %.4f, \"efficiency\": "
        "%.5f, \"tokens_per_s\": %.1f, \"best_bucket_bytes\": %d, \"best_exposed_ms\": %.4f}\n",
        p.preset, p.parameters, p.gpus, p.hosts, Ms(p.compute_s), Ms(p.allreduce_s), Ms(p.exposed_s), Ms(p.step_s),
        p.efficiency, p.tokens_per_s, p.best_bucket_bytes, Ms(p.best_exposed_s));
  }
  return out;
}

}  // namespace kachi
