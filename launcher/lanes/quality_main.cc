// kachi_lanes_quality [SEEDS [FAMILY...]]: prints the policy-quality table (launcher/lanes/quality.h) with the
// default simulated pool (16 cards in nodes of 8, 64 lanes, rungs at 100 * 3^k below 8100 steps).
#include <cstdio>
#include <cstdlib>

#include "launcher/lanes/quality.h"

int main(int argc, char** argv) {
  kachi::lanes::QualitySpec spec;
  spec.options.max_steps = 8100;
  spec.options.min_steps = 100;
  spec.options.eta = 3;
  spec.options.widen_min_remaining_steps = 50;
  spec.timing.chunk_steps = spec.options.min_steps;  // as `kachi lanes` runs chunks by default
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
