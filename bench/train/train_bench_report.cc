// Table, ratios and machine lines of `kachi bench train` (see train_bench_report.h).
#include "bench/train/train_bench_report.h"

#include <string>

#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"

namespace kachi {
namespace {

std::string Mebibytes(int64_t bytes) { return bytes < 0 ? "-" : absl::StrFormat("%.0f", bytes / 1048576.0); }

std::string Percent(double fraction) { return fraction <= 0 ? "-" : absl::StrFormat("%.2f%%", 100 * fraction); }

void PrintRow(const TrainBenchResult& r, std::ostream& out) {
  out << absl::StrFormat("%-15s %-14s %5d x %-5d %10.2f %12.0f %10s %10s %10s   %.4f -> %.4f\n", r.runner,
                         r.precision, r.batch, r.seq_len, r.ms_per_step, r.tokens_per_s, Percent(r.mfu_peak),
                         Percent(r.mfu_ceiling), Mebibytes(r.peak_memory_bytes), r.first_loss, r.last_loss);
}

}  // namespace

std::string TrainBenchMachineLine(const TrainBenchResult& r) {
  return absl::StrFormat(
      "kachi_bench_train runner=%s precision=%s batch=%d seq_len=%d steps=%d ms_per_step=%.4f tokens_per_s=%.1f "
      "flops_per_token=%d mfu_peak=%.6f mfu_ceiling=%.6f peak_mem_bytes=%d first_loss=%.5f last_loss=%.5f",
      absl::StrReplaceAll(r.runner, {{" ", "_"}}), r.precision, r.batch, r.seq_len, r.timed_steps, r.ms_per_step,
      r.tokens_per_s, r.flops_per_token, r.mfu_peak, r.mfu_ceiling, r.peak_memory_bytes, r.first_loss, r.last_loss);
}

void PrintTrainBenchTable(const TrainBenchResult& kachi, const TorchPeerReport& peer, std::ostream& out) {
  out << absl::StrFormat("%-15s %-14s %13s %10s %12s %10s %10s %10s   %s\n", "# runner", "precision", "batch x T",
                         "ms/step", "tokens/s", "MFU/peak", "MFU/ceil", "peak MiB", "loss first -> last");
  PrintRow(kachi, out);
  for (const TrainBenchResult& r : peer.results) PrintRow(r, out);
  for (const std::string& error : peer.errors) out << "# torch mode failed: " << error << "\n";
  if (!peer.unavailable.empty()) out << "# torch peer skipped: " << peer.unavailable << "\n";
  for (const TrainBenchResult& r : peer.results) {
    out << absl::StrFormat("# kachi / %s: %.3fx tokens/s (%s %s vs %s %s)%s\n", r.runner,
                           kachi.tokens_per_s / r.tokens_per_s, kachi.runner, kachi.precision, r.runner, r.precision,
                           r.peak_memory_bytes > 0 && kachi.peak_memory_bytes >= 0
                               ? absl::StrFormat(", peak memory %.2fx", static_cast<double>(kachi.peak_memory_bytes) /
                                                                            r.peak_memory_bytes)
                               : "");
  }
  out << TrainBenchMachineLine(kachi) << "\n";
  for (const TrainBenchResult& r : peer.results) out << TrainBenchMachineLine(r) << "\n";
}

void PrintOpProfile(const TrainBenchResult& kachi, std::ostream& out) {
  if (kachi.op_times.empty() || kachi.profiled_step_ms <= 0) return;
  out << absl::StrFormat(
      "# op profile: one step of %.2f ms with every op synchronized before and after (no overlap; the unprofiled "
      "median is %.2f ms)\n",
      kachi.profiled_step_ms, kachi.ms_per_step);
  out << absl::StrFormat("# %-32s %7s %10s %7s\n", "op", "calls", "ms", "share");
  double in_ops_ms = 0;
  for (const ProfilingOps::OpTime& time : kachi.op_times) {
    const double ms = time.seconds * 1e3;
    in_ops_ms += ms;
    out << absl::StrFormat("# %-32s %7d %10.3f %6.1f%%\n", time.op, time.calls, ms,
                           100.0 * ms / kachi.profiled_step_ms);
  }
  const double outside = kachi.profiled_step_ms - in_ops_ms;
  out << absl::StrFormat("# %-32s %7s %10.3f %6.1f%%\n", "(outside the ops)", "-", outside,
                         100.0 * outside / kachi.profiled_step_ms);
}

}  // namespace kachi
