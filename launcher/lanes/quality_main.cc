// kachi_lanes_quality [SEEDS [FAMILY...]]: prints the policy-quality table (launcher/lanes/quality.h) with the
// default simulated pool (16 cards in nodes of 8, 64 lanes, rungs at 100 * 3^k below 8100 steps).
// kachi_lanes_quality --csv CURVES.csv [key=value...]: the same policies on seeded draws of recorded curves
// (launcher/lanes/quality_csv.h; keys: draws, lanes, first_seed, cards, min_steps, eta, max_steps, chunk,
// widen_min_remaining, step_s, checkpoint_s, restore_s, serial, alpha_s, beta_s), then the recorded lanes' ranks at
// every rung.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "launcher/lanes/quality.h"
#include "launcher/lanes/quality_csv.h"

namespace {

// The --csv mode; returns the exit code.
int RunCsv(const std::string& path, const std::vector<std::string>& args) {
  absl::StatusOr<std::vector<kachi::lanes::NamedCurve>> curves = kachi::lanes::LoadCurvesCsv(path);
  absl::StatusOr<kachi::lanes::CsvQualitySpec> spec = kachi::lanes::ParseCsvQualityArgs(path, args);
  if (spec.ok() && curves.ok()) spec = kachi::lanes::ResolveCsvQuality(*curves, *spec);
  absl::StatusOr<std::vector<kachi::lanes::QualityCell>> cells =
      spec.ok() && curves.ok() ? kachi::lanes::MeasureCsvQuality(*curves, *spec) : absl::UnknownError("");
  for (const absl::Status& status : {curves.status(), spec.status(), cells.status()}) {
    if (!status.ok()) {
      std::fprintf(stderr, "kachi_lanes_quality: %s\n", std::string(status.message()).c_str());
      return 1;
    }
  }
  const int lanes = static_cast<int>(curves->size());
  std::fputs(kachi::lanes::FormatCsvQuality(*cells, *spec, lanes).c_str(), stdout);
  std::fputs(("\n" + kachi::lanes::FormatCsvLanes(*curves, *spec)).c_str(), stdout);
  if (const char* costs = std::getenv("KACHI_LANES_COSTS"); costs && *costs == '1') {
    std::fputs(("\n" + kachi::lanes::FormatCosts(*cells)).c_str(), stdout);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 2 && std::strcmp(argv[1], "--csv") == 0)
    return RunCsv(argv[2], std::vector<std::string>(argv + 3, argv + argc));
  kachi::lanes::QualitySpec spec = kachi::lanes::DefaultQualitySpec();
  // KACHI_LANES_PREDICT_Z: the band (standard errors) of kachi's final-loss prediction (default 2.5).
  if (const char* z = std::getenv("KACHI_LANES_PREDICT_Z")) spec.options.predict_z = std::atof(z);
  // KACHI_LANES_PREDICT_CUT=0: kachi without cuts between rungs (policy.predict_cut).
  if (const char* cut = std::getenv("KACHI_LANES_PREDICT_CUT")) spec.options.predict_cut = std::atoi(cut) != 0;
  // KACHI_LANES_FIRST_SEED: the first seed (default 1; the policy was tuned on seeds 1-40, 41-80 are held out).
  if (const char* first = std::getenv("KACHI_LANES_FIRST_SEED")) spec.first_seed = std::atoi(first);
  // KACHI_LANES_CHUNK: steps per chunk (default min_steps; 0: no chunks, a checkpoint only at rungs).
  if (const char* v = std::getenv("KACHI_LANES_CHUNK")) spec.timing.chunk_steps = std::atoi(v);
  // KACHI_LANES_CHECKPOINT_BUDGET: chunk lengths under a checkpoint budget (lanes file chunks.checkpoint_budget;
  // default 0, fixed chunks); KACHI_LANES_MIN_CHUNK: its fewest steps per chunk (default: the chunk length).
  if (const char* v = std::getenv("KACHI_LANES_CHECKPOINT_BUDGET")) spec.timing.checkpoint_budget = std::atof(v);
  if (const char* v = std::getenv("KACHI_LANES_MIN_CHUNK")) spec.timing.min_chunk_steps = std::atoi(v);
  // KACHI_LANES_LOSS_SAMPLES=N: an experiment (simulator only): chunks also report the loss every N steps inside.
  if (const char* v = std::getenv("KACHI_LANES_LOSS_SAMPLES")) spec.timing.loss_sample_steps = std::atoi(v);
  if (argc > 1) spec.seeds = std::atoi(argv[1]);
  for (int i = 2; i < argc; ++i) spec.families.push_back(argv[i]);
  absl::StatusOr<std::vector<kachi::lanes::QualityCell>> cells = kachi::lanes::MeasureQuality(spec);
  if (!cells.ok()) {
    std::fprintf(stderr, "kachi_lanes_quality: %s\n", std::string(cells.status().message()).c_str());
    return 1;
  }
  std::fputs(kachi::lanes::FormatQuality(*cells, spec).c_str(), stdout);
  // KACHI_LANES_COSTS=1: also where each policy's GPU-hours went (launcher/lanes/cost_breakdown.h).
  if (const char* costs = std::getenv("KACHI_LANES_COSTS"); costs && *costs == '1') {
    std::fputs(("\n" + kachi::lanes::FormatCosts(*cells)).c_str(), stdout);
  }
  return 0;
}
