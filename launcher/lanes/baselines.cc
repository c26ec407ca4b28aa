// Equal split and successive halving without widening, through the same simulator; the comparison table.
#include "launcher/lanes/baselines.h"

#include <algorithm>
#include <chrono>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace kachi::lanes {
namespace {

// Name of the configured policy: "kachi" for promotion ASHA with widening plus runners-up or prediction (a lanes
// file's defaults), "asha+widen" without them.
std::string PolicyName(const PolicyOptions& options) {
  if (!options.successive_halving) return options.widen ? "full+widen" : "equal-split";
  if (!options.widen) return "sh-no-widen";
  return options.promote_runners_up || options.predict_final ? "kachi" : "asha+widen";
}

absl::StatusOr<PolicyRun> Run(std::string name, const SimulationInput& input) {
  const auto start = std::chrono::steady_clock::now();
  absl::StatusOr<SimulationResult> result = Simulate(input);
  if (!result.ok()) {
    return absl::Status(result.status().code(), absl::StrCat(name, ": ", result.status().message()));
  }
  const double wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return PolicyRun{std::move(name), *std::move(result), wall_s};
}

}  // namespace

SimulationInput EqualSplitInput(const SimulationInput& input) {
  SimulationInput split = input;
  split.options.successive_halving = false;
  split.options.widen = false;
  split.options.predict_final = false;
  const int share = std::max(1, input.pool.cards / static_cast<int>(std::max<size_t>(1, input.lanes.size())));
  for (LaneSpec& lane : split.lanes) {
    const std::vector<int> widths = AllowedWidths(lane, input.pool);
    if (widths.empty()) continue;  // Simulate reports the invalid lane
    int width = widths.front();
    for (int candidate : widths) {
      if (candidate * lane.tp <= share) width = candidate;
    }
    lane.min_cards = lane.max_cards = width * lane.tp;
  }
  return split;
}

SimulationInput NoWideningInput(const SimulationInput& input) {
  SimulationInput plain = input;
  plain.options.widen = false;
  plain.options.predict_final = false;  // plain successive halving ranks by the loss at the rung
  plain.options.promote_runners_up = false;  // and promotes only the top 1/eta of a rung
  return plain;
}

absl::StatusOr<std::vector<PolicyRun>> CompareWithBaselines(const SimulationInput& input) {
  std::vector<PolicyRun> runs;
  const std::pair<std::string, SimulationInput> plans[] = {
      {PolicyName(input.options), input},
      {"sh-no-widen", NoWideningInput(input)},
      {"equal-split", EqualSplitInput(input)},
  };
  for (const auto& [name, plan] : plans) {
    absl::StatusOr<PolicyRun> run = Run(name, plan);
    if (!run.ok()) return run.status();
    runs.push_back(*std::move(run));
  }
  return runs;
}

std::string FormatComparison(const std::vector<PolicyRun>& runs, const std::vector<std::string>& lane_names) {
  std::string text = absl::StrFormat("%-12s %-16s %9s %9s %9s %9s %6s %9s %9s %6s %6s %6s %6s %6s %6s\n", "policy",
                                     "best lane", "loss", "GPU-h", "to-best", "held-h", "util", "queue-h", "maxq-h",
                                     "starts", "promo", "pause", "widen", "shrink", "stop");
  const PolicyRun* split = nullptr;
  for (const PolicyRun& run : runs) {
    if (run.name == "equal-split") split = &run;
  }
  for (const PolicyRun& run : runs) {
    const SimulationResult& r = run.result;
    const std::string best =
        r.best_lane ? absl::StrCat(*r.best_lane, ":", lane_names.at(*r.best_lane)).substr(0, 16) : "none";
    absl::StrAppend(&text, absl::StrFormat("%-12s %-16s %9.4f %9.2f %9.2f %9.2f %5.1f%% %9.3f %9.3f %6d %6d %6d %6d "
                                           "%6d %6d\n",
                                           run.name, best, r.best_lane ? r.best_loss : 0.0, r.PoolGpuHours(),
                                           r.GpuHoursToBest(), r.held_card_s / 3600.0, 100.0 * r.Utilization(),
                                           r.mean_queue_s / 3600.0, r.max_queue_s / 3600.0, r.starts, r.promotions,
                                           r.pauses, r.widens, r.shrinks, r.stops));
  }
  if (split != nullptr) {
    for (const PolicyRun& run : runs) {
      if (&run == split) continue;
      const bool same = run.result.best_lane && split->result.best_lane &&
                        *run.result.best_lane == *split->result.best_lane;
      absl::StrAppend(&text, absl::StrFormat("%s: equal split / %s GPU-hours = %.2f (%.2f vs %.2f), best lane %s "
                                             "equal split's\n",
                                             run.name, run.name,
                                             split->result.PoolGpuHours() / run.result.PoolGpuHours(),
                                             split->result.PoolGpuHours(), run.result.PoolGpuHours(),
                                             same ? "the same as" : "DIFFERENT from"));
    }
  }
  absl::StrAppend(&text, "GPU-h = pool cards x time until every lane is finished, stopped or paused for good; "
                         "to-best = until the best lane finished; held-h = card-hours held by lanes; queue-h = mean "
                         "hours a lane waited for cards while runnable (maxq-h: the longest)\n");
  return text;
}

}  // namespace kachi::lanes
