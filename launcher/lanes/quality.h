// Policy quality over seeded curve families (issue 18): for each family and seed, every policy runs on the same
// curves, pool and timing, and is scored against the ground truth: whether it chose the true best lane, its regret
// (the chosen lane's final loss minus the best lane's, as measured at max_steps), and the GPU-hours the pool spent
// until the chosen lane finished and in all.
#ifndef KACHI_LAUNCHER_LANES_QUALITY_H_
#define KACHI_LAUNCHER_LANES_QUALITY_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "launcher/lanes/cost_breakdown.h"
#include "launcher/lanes/simulator.h"

namespace kachi::lanes {

// The policies compared: "asha+widen" (kachi's promotion ASHA with widening, as before issue 18),
// "kachi-no-predict" (asha+widen with runners-up promoted onto idle cards, runner_up_extra 2, and warmup grace),
// "kachi-grace" (that with predict_final: lanes not promoted when their power-law-predicted final loss is clearly
// worse than the incumbent's, and predict_cut), "kachi" (the lanes file's defaults: kachi-grace with rungs in
// schedule time instead of the grace, schedule_rungs), "kachi-fit-choice" (kachi choosing among finished lanes by
// their fitted final, choose_by_fit), "sh-no-widen", "equal-split", and "stop-asha" (the reference: stopping-based
// ASHA, launcher/lanes/stopping_asha.h).
std::vector<std::string> QualityPolicyNames();

// What to measure.
struct QualitySpec {
  std::vector<std::string> families;  // empty: all
  int seeds = 20;
  // Seeds first_seed .. first_seed + seeds - 1 (held-out checks use seeds past the ones a policy was tuned on).
  int first_seed = 1;
  int lanes = 64;
  PoolShape pool{16, 8};
  PolicyOptions options;  // max_steps, min_steps, eta (the rest is set per policy)
  SimTiming timing;
  int batch_units = 64;
};

// One (family, policy) cell, means over the seeds.
struct QualityCell {
  std::string family, policy;
  int runs = 0;
  double p_best = 0;      // fraction of seeds where the chosen lane is the true best
  double regret = 0;      // mean regret (no lane chosen: the worst finite true final minus the best)
  // The same two scored against the expected (noise-free) finals (FamilyLane::expected_final): how often the
  // chosen lane is the one that is best in expectation, and by how much it is worse in expectation.
  double p_best_expected = 0;
  double regret_expected = 0;
  double gpu_h_to_chosen = 0;
  double pool_gpu_h = 0;  // cards x makespan
  double held_gpu_h = 0;  // card-hours lanes held
  // Where the pool's GPU-hours went (launcher/lanes/cost_breakdown.h), mean over the seeds; stop-asha has no
  // decision log: only its pool and idle parts are set.
  CostBreakdown cost;
};

// What one lane of a quality run is scored by.
struct LaneTruth {
  // Its warmup: kachi's policies get it as grace (rungs below it do not judge the lane).
  int64_t warmup_steps = 0;
  // Its loss as measured at max_steps (NaN when it diverged: never the best), and its expected (noise-free, or
  // smoothed for a recorded curve) loss there.
  double true_final = 0;
  double expected_final = 0;
};

// One empty cell per policy of QualityPolicyNames(), in that order.
std::vector<QualityCell> NewQualityRow(const std::string& family);
// Runs every policy of `row` on `input` (one seed's or draw's lanes, curves, pool, options and timing; truth[i]
// scores input.lanes[i]) and adds each one's score to its cell, the cost breakdown scaled by `weight` (1 / runs).
// Errors: a simulation failing, naming the policy.
absl::Status ScoreQualityRun(const SimulationInput& input, const std::vector<LaneTruth>& truth, double weight,
                             std::vector<QualityCell>* row);
// Turns the row's sums into means over each cell's runs.
void AverageQualityCells(std::vector<QualityCell>* row);

// The benchmark's spec as kachi_lanes_quality runs it (the tables of bench/RESULTS.md): 20 seeds of every family,
// 64 lanes on 16 cards in nodes of 8, rungs at 100 * 3^k below 8100 steps (eta 3), widening only with >= 50 steps
// to go, chunks of 100 steps (min_steps, as `kachi lanes` runs them by default), the default timing.
QualitySpec DefaultQualitySpec();

// Runs every policy on every family and seed. Errors: a family or a simulation failing.
absl::StatusOr<std::vector<QualityCell>> MeasureQuality(const QualitySpec& spec);

// The markdown table of the cells, GPU-hours with `gpu_h_decimals` decimals.
std::string QualityTable(const std::vector<QualityCell>& cells, int gpu_h_decimals = 1);
// A header line (seeds, lanes, pool, rungs, timing) and QualityTable.
std::string FormatQuality(const std::vector<QualityCell>& cells, const QualitySpec& spec);
// A markdown table of the cells' cost breakdowns.
std::string FormatCosts(const std::vector<QualityCell>& cells);

}  // namespace kachi::lanes

#endif  // KACHI_LAUNCHER_LANES_QUALITY_H_
