// A reference baseline for the lane policy: stopping-based asynchronous successive halving as published (Li et al.
// 2020, "A System for Massively Parallel Hyperparameter Tuning") and as Ray Tune's / Syne Tune's "stopping" ASHA run
// it: every trial trains from step 0 without pausing; at each rung it reports its loss and is stopped at once unless
// the loss lies within the best 1/eta quantile of every loss reported at that rung so far (itself included; the
// first trial at a rung always continues). Free workers start the next trial in order. No widening, no
// checkpoints at rungs. Simulated on the same curves, pool and timing as the lane policy.
#ifndef KACHI_LAUNCHER_LANES_STOPPING_ASHA_H_
#define KACHI_LAUNCHER_LANES_STOPPING_ASHA_H_

#include <vector>

#include "absl/status/statusor.h"
#include "launcher/lanes/simulator.h"

namespace kachi::lanes {

// The numpy-style (linear interpolation) `q` quantile, q in [0, 1], of non-empty `values`.
double Quantile(std::vector<double> values, double q);

// Runs stopping-based ASHA on `input` (its rungs from input.options.min_steps/eta/max_steps, each trial on its
// lane's minimum cards). Result fields as Simulate's; `stops` counts rung stops and divergences, `pauses` is 0.
absl::StatusOr<SimulationResult> SimulateStoppingAsha(const SimulationInput& input);

}  // namespace kachi::lanes

#endif  // KACHI_LAUNCHER_LANES_STOPPING_ASHA_H_
