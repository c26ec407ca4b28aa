// A reference baseline for the lane policy: stopping-based asynchronous successive halving as published (Li et al.
// 2020, "A System for Massively Parallel Hyperparameter Tuning") and as Ray Tune's / Syne Tune's "stopping" ASHA run
// it: every trial trains from step 0 without pausing; at each rung it reports its loss and is stopped at once unless
// its rank among every loss reported at that rung so far (itself included) is within the best 1/eta: Syne Tune's
// rule (syne_tune/optimizer/schedulers/asha.py, Bracket.on_result), checked against Syne Tune itself by
// bench/lanes/syne_tune_asha.py. Free workers start the next trial in order. No widening, no checkpoints at rungs.
// Simulated on the same curves, pool and timing as the lane policy.
#ifndef KACHI_LAUNCHER_LANES_STOPPING_ASHA_H_
#define KACHI_LAUNCHER_LANES_STOPPING_ASHA_H_

#include <vector>

#include "absl/status/statusor.h"
#include "launcher/lanes/simulator.h"

namespace kachi::lanes {

// Whether a trial whose `loss` was just appended to `recorded` (the finite losses reported at a rung so far, itself
// included) continues: the number of recorded losses strictly below it, over their count, is at most 1/eta.
bool ContinuesAtRung(const std::vector<double>& recorded, double loss, double eta);

// Runs stopping-based ASHA on `input` (its rungs from input.options.min_steps/eta/max_steps, each trial on its
// lane's minimum cards). Result fields as Simulate's; `stops` counts rung stops and divergences, `pauses` is 0.
absl::StatusOr<SimulationResult> SimulateStoppingAsha(const SimulationInput& input);

}  // namespace kachi::lanes

#endif  // KACHI_LAUNCHER_LANES_STOPPING_ASHA_H_
