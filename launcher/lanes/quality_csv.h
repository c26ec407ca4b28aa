// Policy quality on recorded real curves (issue 18): the lanes of a curves CSV (launcher/lanes/curves.h, e.g.
// bench/lanes/real_curves_cpu.csv from bench/lanes/record_real_curves.sh) in seeded draws (a random subset of the
// lanes in random order), every policy of QualityPolicyNames() run on each draw as on a seeded curve family
// (launcher/lanes/quality.h): P(true best), regret and GPU-hours become distributions over the draws.
#ifndef KACHI_LAUNCHER_LANES_QUALITY_CSV_H_
#define KACHI_LAUNCHER_LANES_QUALITY_CSV_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "launcher/lanes/curves.h"
#include "launcher/lanes/quality.h"

namespace kachi::lanes {

// What to measure on recorded curves.
struct CsvQualitySpec {
  std::string csv_path;
  int draws = 40;
  // Lanes per draw (at most the CSV's; 0: all of them, in a random order).
  int lanes_per_draw = 12;
  // Draw d uses seed first_seed + d.
  int first_seed = 1;
  PoolShape pool{4, 0};
  // min_steps and eta as given; max_steps 0: the last step every non-diverging curve reaches (the recorded end).
  PolicyOptions options;
  // chunk_steps 0: min_steps (as `kachi lanes` runs chunks by default).
  SimTiming timing;
};

// The spec from `key=value` arguments (draws, lanes, first_seed, cards, min_steps, eta, max_steps, step_s,
// checkpoint_s, restore_s, serial, alpha_s, beta_s, chunk) over the defaults above with min_steps 20, eta 3,
// widen_min_remaining_steps min_steps / 2. Errors name the argument: an unknown key, a value that is not a number or
// out of range.
absl::StatusOr<CsvQualitySpec> ParseCsvQualityArgs(const std::string& csv_path, const std::vector<std::string>& args);

// `spec` checked against `curves` (2 <= lanes per draw <= lanes; every curve reaches max_steps unless it diverges,
// and starts at or before the first rung) with lanes 0, max_steps 0 and chunk 0 resolved. Errors name the lane.
absl::StatusOr<CsvQualitySpec> ResolveCsvQuality(const std::vector<NamedCurve>& curves, CsvQualitySpec spec);

// Runs every policy on `spec.draws` draws of `curves` (as LoadCurvesCsv returns them; each lane's warmup_steps is
// kachi's grace, its batch_units caps its width). A lane's true final is its recorded loss at max_steps (NaN when it
// diverged before: never the best); its expected final, the mean of its curve over the last 5% of max_steps (the
// eval-to-eval jitter averaged out). One cell per policy, family "real" (means over the draws). Errors: too few
// lanes, a curve not reaching max_steps or starting after the first rung, a simulation failing (naming the draw).
absl::StatusOr<std::vector<QualityCell>> MeasureCsvQuality(const std::vector<NamedCurve>& curves,
                                                           const CsvQualitySpec& spec);

// The table's header line (draws, lanes, pool, rungs, timing of the resolved `spec`) and the markdown table.
std::string FormatCsvQuality(const std::vector<QualityCell>& cells, const CsvQualitySpec& spec, int csv_lanes);
// The recorded lanes, best true final first: each one's warmup, its loss at every rung and its true final.
std::string FormatCsvLanes(const std::vector<NamedCurve>& curves, const CsvQualitySpec& spec);

}  // namespace kachi::lanes

#endif  // KACHI_LAUNCHER_LANES_QUALITY_CSV_H_
