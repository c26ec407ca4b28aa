// Policy quality on recorded real curves: seeded draws of a curves CSV's lanes, every policy on each draw.
#include "launcher/lanes/quality_csv.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <random>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "launcher/lanes/sim_setup.h"

namespace kachi::lanes {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// The last step every curve that does not diverge reaches (its last recorded point).
int64_t RecordedEnd(const std::vector<NamedCurve>& curves) {
  int64_t end = std::numeric_limits<int64_t>::max();
  for (const NamedCurve& named : curves) {
    if (named.curve->DivergeStep() < 0) end = std::min(end, named.curve->LastStep());
  }
  return end == std::numeric_limits<int64_t>::max() ? -1 : end;
}

// The mean of `curve` over the last 5% of `max_steps` (at least its last step), NaN when it diverged before.
double SmoothedFinal(const RecordedCurve& curve, int64_t max_steps) {
  const int64_t from = max_steps - std::max<int64_t>(0, max_steps / 20);
  double sum = 0;
  for (int64_t step = from; step <= max_steps; ++step) sum += curve.LossAt(step);
  return sum / static_cast<double>(max_steps - from + 1);
}

// `k` of the indices 0..n-1 in a seeded random order (Fisher-Yates on mt19937_64: the same on every platform).
std::vector<int> DrawLanes(int n, int k, uint64_t seed) {
  std::vector<int> order(n);
  for (int i = 0; i < n; ++i) order[i] = i;
  std::mt19937_64 gen(seed);
  for (int i = n - 1; i > 0; --i) std::swap(order[i], order[gen() % static_cast<uint64_t>(i + 1)]);
  order.resize(k);
  return order;
}

}  // namespace

absl::StatusOr<CsvQualitySpec> ResolveCsvQuality(const std::vector<NamedCurve>& curves, CsvQualitySpec spec) {
  const int n = static_cast<int>(curves.size());
  if (spec.lanes_per_draw == 0) spec.lanes_per_draw = n;
  if (n < 2 || spec.lanes_per_draw < 2 || spec.lanes_per_draw > n) {
    return absl::InvalidArgumentError(absl::StrCat(spec.csv_path, ": ", n, " lanes, ", spec.lanes_per_draw,
                                                   " per draw; expected 2 <= lanes per draw <= lanes"));
  }
  if (spec.options.max_steps == 0) spec.options.max_steps = RecordedEnd(curves);
  if (spec.options.max_steps <= spec.options.min_steps) {
    return absl::InvalidArgumentError(absl::StrCat(spec.csv_path, ": max_steps ", spec.options.max_steps,
                                                   " (the recorded end when 0); expected more than min_steps ",
                                                   spec.options.min_steps));
  }
  if (spec.timing.chunk_steps == 0) spec.timing.chunk_steps = spec.options.min_steps;
  for (const NamedCurve& named : curves) {
    if (absl::Status status = CheckCurveCoversRun(named.lane, *named.curve, spec.options); !status.ok()) {
      return status;
    }
  }
  return spec;
}

absl::StatusOr<CsvQualitySpec> ParseCsvQualityArgs(const std::string& csv_path, const std::vector<std::string>& args) {
  CsvQualitySpec spec;
  spec.csv_path = csv_path;
  spec.options.min_steps = 20;
  spec.options.eta = 3;
  bool widen_given = false;
  // Each key: a target and the smallest value it takes.
  std::map<std::string, std::function<absl::Status(double)>> keys;
  auto integer = [&](const std::string& key, double min, std::function<void(int64_t)> set) {
    keys[key] = [key, min, set](double v) {
      if (v != std::floor(v) || v < min) {
        return absl::InvalidArgumentError(absl::StrCat(key, "=", v, "; expected an integer >= ", min));
      }
      set(static_cast<int64_t>(v));
      return absl::OkStatus();
    };
  };
  auto real = [&](const std::string& key, double min, double* target) {
    keys[key] = [key, min, target](double v) {
      if (!(v >= min)) return absl::InvalidArgumentError(absl::StrCat(key, "=", v, "; expected a number >= ", min));
      *target = v;
      return absl::OkStatus();
    };
  };
  integer("draws", 1, [&](int64_t v) { spec.draws = static_cast<int>(v); });
  integer("lanes", 0, [&](int64_t v) { spec.lanes_per_draw = static_cast<int>(v); });
  integer("first_seed", 0, [&](int64_t v) { spec.first_seed = static_cast<int>(v); });
  integer("cards", 1, [&](int64_t v) { spec.pool.cards = static_cast<int>(v); });
  integer("min_steps", 1, [&](int64_t v) { spec.options.min_steps = v; });
  integer("eta", 2, [&](int64_t v) { spec.options.eta = static_cast<int>(v); });
  integer("max_steps", 0, [&](int64_t v) { spec.options.max_steps = v; });
  integer("chunk", 0, [&](int64_t v) { spec.timing.chunk_steps = v; });
  integer("widen_min_remaining", 0, [&](int64_t v) {
    spec.options.widen_min_remaining_steps = v;
    widen_given = true;
  });
  real("step_s", 1e-9, &spec.timing.step_time_s);
  real("checkpoint_s", 0, &spec.timing.checkpoint_s);
  real("restore_s", 0, &spec.timing.restore_s);
  real("serial", 0, &spec.timing.serial_fraction);
  real("alpha_s", 0, &spec.timing.allreduce_alpha_s);
  real("beta_s", 0, &spec.timing.allreduce_beta_s);
  for (const std::string& arg : args) {
    const size_t eq = arg.find('=');
    const std::string key = arg.substr(0, eq);
    auto found = keys.find(key);
    if (eq == std::string::npos || found == keys.end()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "argument '", arg,
          "'; expected key=value with key one of draws, lanes, first_seed, cards, min_steps, eta, "
          "max_steps, chunk, widen_min_remaining, step_s, checkpoint_s, restore_s, serial, alpha_s, beta_s"));
    }
    double value = 0;
    if (!absl::SimpleAtod(arg.substr(eq + 1), &value)) {
      return absl::InvalidArgumentError(
          absl::StrCat("argument '", arg, "': '", arg.substr(eq + 1), "' is not a number"));
    }
    if (absl::Status status = found->second(value); !status.ok()) return status;
  }
  if (spec.timing.serial_fraction > 1) {
    return absl::InvalidArgumentError(absl::StrCat("serial=", spec.timing.serial_fraction, "; expected at most 1"));
  }
  if (!widen_given) spec.options.widen_min_remaining_steps = spec.options.min_steps / 2;
  return spec;
}

absl::StatusOr<std::vector<QualityCell>> MeasureCsvQuality(const std::vector<NamedCurve>& curves,
                                                           const CsvQualitySpec& given) {
  absl::StatusOr<CsvQualitySpec> spec = ResolveCsvQuality(curves, given);
  if (!spec.ok()) return spec.status();
  const int64_t max_steps = spec->options.max_steps;
  std::vector<QualityCell> row = NewQualityRow("real");
  for (int d = 0; d < spec->draws; ++d) {
    const uint64_t seed = static_cast<uint64_t>(spec->first_seed + d);
    SimulationInput input;
    input.pool = spec->pool;
    input.options = spec->options;
    input.timing = spec->timing;
    input.keep_decisions = true;
    std::vector<LaneTruth> truth;
    for (int i : DrawLanes(static_cast<int>(curves.size()), spec->lanes_per_draw, seed)) {
      const NamedCurve& named = curves[i];
      LaneSpec lane;
      lane.name = named.lane;
      lane.batch_units = std::max(1, named.batch_units);  // no column: one micro-batch, never widened
      input.lanes.push_back(lane);
      input.curves.push_back(named.curve.get());
      const bool diverged = named.curve->DivergeStep() >= 0 && named.curve->DivergeStep() <= max_steps;
      LaneTruth t;
      t.warmup_steps = named.warmup_steps;
      t.true_final = diverged ? kNaN : named.curve->LossAt(max_steps);
      t.expected_final = diverged ? kNaN : SmoothedFinal(*named.curve, max_steps);
      truth.push_back(t);
    }
    if (absl::Status status = ScoreQualityRun(input, truth, 1.0 / spec->draws, &row); !status.ok()) {
      return absl::InternalError(absl::StrCat(spec->csv_path, " draw ", d, " (seed ", seed, "): ", status.message()));
    }
  }
  AverageQualityCells(&row);
  return row;
}

std::string FormatCsvQuality(const std::vector<QualityCell>& cells, const CsvQualitySpec& spec, int csv_lanes) {
  std::string out = absl::StrFormat(
      "%s: %d draws (seeds from %d) of %d of its %d lanes in random order, %d cards (nodes of %d), rungs %d * %d^k "
      "below %d steps, step %.4f s, serial %.2f, all-reduce alpha %.6f s beta %.6f s, checkpoint %.4f s (also after "
      "every chunk of %d steps; stop-asha never checkpoints), restore %.4f s; true final: the recorded loss at max "
      "steps, expected final: its mean over the last 5%% of the steps\n\n",
      spec.csv_path, spec.draws, spec.first_seed, spec.lanes_per_draw, csv_lanes, spec.pool.cards,
      spec.pool.CardsPerNode(), static_cast<int>(spec.options.min_steps), spec.options.eta,
      static_cast<int>(spec.options.max_steps), spec.timing.step_time_s, spec.timing.serial_fraction,
      spec.timing.allreduce_alpha_s, spec.timing.allreduce_beta_s, spec.timing.checkpoint_s,
      static_cast<int>(spec.timing.chunk_steps), spec.timing.restore_s);
  return out + QualityTable(cells, 2);
}

std::string FormatCsvLanes(const std::vector<NamedCurve>& curves, const CsvQualitySpec& spec) {
  const std::vector<int64_t> rungs = RungSteps(spec.options);
  std::vector<const NamedCurve*> sorted;
  for (const NamedCurve& named : curves) sorted.push_back(&named);
  auto final_of = [&](const NamedCurve* named) {
    const double loss = named->curve->LossAt(spec.options.max_steps);
    return std::isfinite(loss) ? loss : std::numeric_limits<double>::infinity();
  };
  std::stable_sort(sorted.begin(), sorted.end(),
                   [&](const NamedCurve* x, const NamedCurve* y) { return final_of(x) < final_of(y); });
  std::string out = "| lane | warmup |";
  for (int64_t rung : rungs) absl::StrAppend(&out, " rank/loss at ", rung, " |");
  absl::StrAppend(&out, " final (", spec.options.max_steps, ") |\n|---|---|");
  for (size_t i = 0; i < rungs.size(); ++i) out += "---|";
  out += "---|\n";
  for (const NamedCurve* named : sorted) {
    absl::StrAppend(&out, "| ", named->lane, " | ", named->warmup_steps, " |");
    for (int64_t rung : rungs) {
      const double loss = named->curve->LossAt(rung);
      int rank = 1;
      for (const NamedCurve& other : curves) rank += other.curve->LossAt(rung) < loss ? 1 : 0;
      out += std::isfinite(loss) ? absl::StrFormat(" %d / %.4f |", rank, loss) : " diverged |";
    }
    const double final_loss = named->curve->LossAt(spec.options.max_steps);
    out += std::isfinite(final_loss) ? absl::StrFormat(" %.4f |\n", final_loss) : " diverged |\n";
  }
  return out;
}

}  // namespace kachi::lanes
