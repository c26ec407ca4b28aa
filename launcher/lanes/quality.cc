// Measuring policy quality over curve families.
#include "launcher/lanes/quality.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "launcher/lanes/baselines.h"
#include "launcher/lanes/curve_families.h"
#include "launcher/lanes/stopping_asha.h"

namespace kachi::lanes {

std::vector<std::string> QualityPolicyNames() {
  return {"asha+widen",  "kachi-no-predict", "kachi-grace", "kachi",
          "kachi-fit-choice", "sh-no-widen",   "equal-split", "stop-asha"};
}

namespace {

absl::StatusOr<SimulationResult> RunPolicy(const std::string& policy, SimulationInput input,
                                           const std::vector<LaneTruth>& lanes) {
  if (policy == "stop-asha") return SimulateStoppingAsha(input);
  input.options.predict_final = false;  // only kachi's policy predicts
  if (policy == "equal-split") return Simulate(EqualSplitInput(input));
  if (policy == "sh-no-widen") return Simulate(NoWideningInput(input));
  if (policy == "kachi" || policy == "kachi-no-predict" || policy == "kachi-fit-choice" ||
      policy == "kachi-grace") {
    input.options.promote_runners_up = true;
    input.options.predict_final = policy != "kachi-no-predict";
    input.options.choose_by_fit = policy == "kachi-fit-choice";
    input.options.schedule_rungs = policy == "kachi" || policy == "kachi-fit-choice";
    for (size_t i = 0; i < lanes.size(); ++i) input.lanes[i].grace_steps = lanes[i].warmup_steps;
  }
  return Simulate(input);
}

}  // namespace

std::vector<QualityCell> NewQualityRow(const std::string& family) {
  std::vector<QualityCell> row;
  for (const std::string& policy : QualityPolicyNames()) {
    QualityCell cell;
    cell.family = family;
    cell.policy = policy;
    row.push_back(cell);
  }
  return row;
}

absl::Status ScoreQualityRun(const SimulationInput& input, const std::vector<LaneTruth>& truth, double weight,
                             std::vector<QualityCell>* row) {
  double best = std::numeric_limits<double>::infinity(), worst = -best;
  double best_expected = best, worst_expected = -best;
  for (const LaneTruth& lane : truth) {
    const double t = lane.true_final;
    if (std::isfinite(t)) best = std::min(best, t), worst = std::max(worst, t);
    const double e = lane.expected_final;
    if (std::isfinite(e)) best_expected = std::min(best_expected, e), worst_expected = std::max(worst_expected, e);
  }
  for (QualityCell& cell : *row) {
    absl::StatusOr<SimulationResult> result = RunPolicy(cell.policy, input, truth);
    if (!result.ok()) return absl::InternalError(absl::StrCat(cell.policy, ": ", result.status().message()));
    ++cell.runs;
    const double chosen = result->best_lane ? truth[*result->best_lane].true_final : worst;
    cell.p_best += chosen == best ? 1 : 0;
    cell.regret += chosen - best;
    const double chosen_expected = result->best_lane ? truth[*result->best_lane].expected_final : worst_expected;
    cell.p_best_expected += chosen_expected == best_expected ? 1 : 0;
    cell.regret_expected += chosen_expected - best_expected;
    cell.gpu_h_to_chosen += result->best_lane ? result->GpuHoursToBest() : result->PoolGpuHours();
    cell.pool_gpu_h += result->PoolGpuHours();
    cell.held_gpu_h += result->held_card_s / 3600.0;
    CostBreakdown cost;
    if (cell.policy == "stop-asha") {
      cost.pool = result->PoolGpuHours();
      cost.idle = cost.pool - result->held_card_s / 3600.0;
    } else {
      cost = BreakDownCost(input, *result);
    }
    AddCost(cost, weight, &cell.cost);
  }
  return absl::OkStatus();
}

void AverageQualityCells(std::vector<QualityCell>* row) {
  for (QualityCell& cell : *row) {
    const double n = std::max(1, cell.runs);
    cell.p_best /= n;
    cell.regret /= n;
    cell.p_best_expected /= n;
    cell.regret_expected /= n;
    cell.gpu_h_to_chosen /= n;
    cell.pool_gpu_h /= n;
    cell.held_gpu_h /= n;
  }
}

QualitySpec DefaultQualitySpec() {
  QualitySpec spec;
  spec.options.max_steps = 8100;
  spec.options.min_steps = 100;
  spec.options.eta = 3;
  spec.options.widen_min_remaining_steps = 50;
  spec.timing.chunk_steps = spec.options.min_steps;
  return spec;
}

absl::StatusOr<std::vector<QualityCell>> MeasureQuality(const QualitySpec& spec) {
  const std::vector<std::string> families = spec.families.empty() ? CurveFamilyNames() : spec.families;
  std::vector<QualityCell> cells;
  for (const std::string& family : families) {
    std::vector<QualityCell> row = NewQualityRow(family);
    for (int seed = spec.first_seed; seed < spec.first_seed + spec.seeds; ++seed) {
      absl::StatusOr<std::vector<FamilyLane>> lanes =
          DrawFamily(family, spec.lanes, static_cast<uint64_t>(seed), spec.options.max_steps);
      if (!lanes.ok()) return lanes.status();
      SimulationInput input;
      input.pool = spec.pool;
      input.options = spec.options;
      input.timing = spec.timing;
      input.keep_decisions = true;
      std::vector<LaneTruth> truth;
      for (size_t i = 0; i < lanes->size(); ++i) {
        LaneSpec lane;
        lane.name = absl::StrCat(family, i);
        lane.batch_units = spec.batch_units;
        input.lanes.push_back(lane);
        input.curves.push_back((*lanes)[i].curve.get());
        truth.push_back(LaneTruth{(*lanes)[i].warmup_steps, (*lanes)[i].true_final, (*lanes)[i].expected_final});
      }
      if (absl::Status status = ScoreQualityRun(input, truth, 1.0 / spec.seeds, &row); !status.ok()) {
        return absl::InternalError(absl::StrCat(family, " seed ", seed, " ", status.message()));
      }
    }
    AverageQualityCells(&row);
    cells.insert(cells.end(), row.begin(), row.end());
  }
  return cells;
}

std::string FormatQuality(const std::vector<QualityCell>& cells, const QualitySpec& spec) {
  std::string out = absl::StrFormat(
      "%d seeds (from %d) x %d lanes per family, %d cards (nodes of %d), rungs %d * %d^k below %d steps, step %.2f s, "
      "serial %.2f, all-reduce alpha %.4f s beta %.3f s, checkpoint %.0f s (also after every chunk of %d steps; "
      "stop-asha never checkpoints), restore %.0f s\n\n",
      spec.seeds, spec.first_seed, spec.lanes, spec.pool.cards, spec.pool.CardsPerNode(), static_cast<int>(spec.options.min_steps),
      spec.options.eta, static_cast<int>(spec.options.max_steps), spec.timing.step_time_s,
      spec.timing.serial_fraction, spec.timing.allreduce_alpha_s, spec.timing.allreduce_beta_s,
      spec.timing.checkpoint_s, static_cast<int>(spec.timing.chunk_steps), spec.timing.restore_s);
  return out + QualityTable(cells);
}

std::string QualityTable(const std::vector<QualityCell>& cells, int gpu_h_decimals) {
  std::string out =
      "| family | policy | P(true best) | mean regret | GPU-h to chosen | pool GPU-h | held GPU-h | "
      "P(expected best) | expected regret |\n"
      "|---|---|---|---|---|---|---|---|---|\n";
  const int d = gpu_h_decimals;
  for (const QualityCell& c : cells) {
    out += absl::StrFormat("| %s | %s | %.2f | %.4f | %.*f | %.*f | %.*f | %.2f | %.4f |\n", c.family, c.policy,
                           c.p_best, c.regret, d, c.gpu_h_to_chosen, d, c.pool_gpu_h, d, c.held_gpu_h,
                           c.p_best_expected, c.regret_expected);
  }
  return out;
}

std::string FormatCosts(const std::vector<QualityCell>& cells) {
  std::string out = CostHeader();
  for (const QualityCell& c : cells) out += CostRow(c.family + " " + c.policy, c.cost);
  return out;
}

}  // namespace kachi::lanes
