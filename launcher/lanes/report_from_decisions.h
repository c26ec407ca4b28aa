// Lanes report data rebuilt from the policy's decisions: which lane held which card when (start, widen, shrink
// open spans; rung reports, finishes and stops close them), each lane's status (its last decision), and its loss
// curve (the losses the decisions carry, plus samples of a loss function over the steps the lane trained). The
// simulator's decisions and the real executor's journal both carry enough for it.
#ifndef KACHI_LAUNCHER_LANES_REPORT_FROM_DECISIONS_H_
#define KACHI_LAUNCHER_LANES_REPORT_FROM_DECISIONS_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "launcher/lanes/decision.h"
#include "launcher/lanes/report_data.h"
#include "launcher/lanes/sim_setup.h"
#include "launcher/lanes/simulator.h"

namespace kachi::lanes {

// What the report is about besides the decisions.
struct ReportRun {
  // The page's title.
  std::string title;
  // Lane names by lane index (the decisions' lanes index it).
  std::vector<std::string> lane_names;
  // Cards in the pool.
  int num_cards = 0;
  // The run's length: spans still open after the last decision end here.
  double total_seconds = 0;
  // When set, the loss of `lane` at `step` (NaN when unknown or diverged): sampled log-evenly over every stretch of
  // steps a lane trained. Unset: only the losses the decisions carry are plotted.
  std::function<double(int lane, int64_t step)> loss_at;
  // Samples per trained stretch when loss_at is set.
  int samples_per_stretch = 24;
};

// The report data of `run` after `decisions` (in the order they were made). Status per lane: "finished", "stopped",
// "paused" after its last decision of that kind, "running" after start/promote/widen/shrink, "waiting" when the
// lane never appears. Consecutive spans of one lane on one card that touch are merged.
LanesReportData ReportFromDecisions(const ReportRun& run, const std::vector<Decision>& decisions);

// The report of a simulated run: `result` must have been simulated from `setup.input` with keep_decisions set;
// curves are sampled from the setup's learning curves, the timeline spans the run's makespan.
LanesReportData ReportFromSimulation(const std::string& title, const SimulationSetup& setup,
                                     const SimulationResult& result);

}  // namespace kachi::lanes

#endif  // KACHI_LAUNCHER_LANES_REPORT_FROM_DECISIONS_H_
