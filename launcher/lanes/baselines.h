// The simulator's baselines, run through the same policy and simulator with other options: equal split (no rungs,
// no widening, every lane trained to max_steps on an equal share of the pool) and successive halving without
// widening (the same rungs, idle cards left idle), beside the policy as configured; and their report.
#ifndef KACHI_LAUNCHER_LANES_BASELINES_H_
#define KACHI_LAUNCHER_LANES_BASELINES_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "launcher/lanes/simulator.h"

namespace kachi::lanes {

// `input` turned into the equal-split baseline: every lane fixed to the largest allowed width within
// pool.cards / lanes cards (at least its minimum), trained to max_steps, no rungs, no widening, no prediction.
SimulationInput EqualSplitInput(const SimulationInput& input);
// `input` with widening, final-loss prediction and runners-up turned off (plain successive halving).
SimulationInput NoWideningInput(const SimulationInput& input);

// One simulated policy and its outcome.
struct PolicyRun {
  std::string name;
  SimulationResult result;
  // Seconds the simulation itself took (wall clock).
  double wall_s = 0;
};

// The configured policy (first) and the two baselines: "asha+widen" (or the configured name), "sh-no-widen",
// "equal-split".
absl::StatusOr<std::vector<PolicyRun>> CompareWithBaselines(const SimulationInput& input);

// A table of the runs (best lane, its loss, GPU-hours, utilization, queueing, decisions) and the ratios of
// equal split's GPU-hours to each run's, naming lanes by `lane_names`.
std::string FormatComparison(const std::vector<PolicyRun>& runs, const std::vector<std::string>& lane_names);

}  // namespace kachi::lanes

#endif  // KACHI_LAUNCHER_LANES_BASELINES_H_
