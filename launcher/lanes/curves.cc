// Synthetic and recorded learning curves.
#include "launcher/lanes/curves.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <map>
#include <random>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "kernels/base/splitmix64.h"

namespace kachi::lanes {
namespace {

using base::SplitMix64;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Uniform in (0, 1) from a hash.
double Unit(uint64_t bits) { return (static_cast<double>(bits >> 11) + 0.5) * 0x1.0p-53; }

absl::Status CheckRange(const char* name, double lo, double hi) {
  if (!std::isfinite(lo) || !std::isfinite(hi) || lo > hi) {
    return absl::InvalidArgumentError(absl::StrCat("synthetic family: ", name, " range [", lo, ", ", hi,
                                                   "]; expected finite bounds with min <= max"));
  }
  return absl::OkStatus();
}

// A per-lane column of the curves CSV: its 1-based field number, name, smallest value and what it expects.
struct LaneColumn {
  int index;
  const char* name;
  int64_t min;
  const char* expected;
};

// Parses `field` of a row of `lane` as `column`: an integer >= column.min, the same on every row of the lane
// (kept in `values`). Errors start with `where` and name the field.
absl::Status ParseLaneColumn(const std::string& where, absl::string_view field, const std::string& lane,
                             const LaneColumn& column, std::map<std::string, int64_t>* values) {
  int64_t value = 0;
  if (!absl::SimpleAtoi(field, &value) || value < column.min) {
    return absl::InvalidArgumentError(absl::StrCat(where, "field ", column.index, " (", column.name, ") '", field,
                                                   "'; expected ", column.expected));
  }
  auto [it, inserted] = values->emplace(lane, value);
  if (!inserted && it->second != value) {
    return absl::InvalidArgumentError(absl::StrCat(where, "field ", column.index, " (", column.name, ") ", value,
                                                   " for lane '", lane, "', which had ", it->second,
                                                   "; expected one value per lane"));
  }
  return absl::OkStatus();
}

}  // namespace

SyntheticCurve::SyntheticCurve(double a, double b, double c, double noise, int64_t diverge_step, uint64_t noise_seed)
    : a_(a), b_(b), c_(c), noise_(noise), diverge_step_(diverge_step), noise_seed_(noise_seed) {}

double SyntheticCurve::MeanAt(int64_t step) const {
  return a_ + b_ * std::pow(static_cast<double>(std::max<int64_t>(step, 1)), -c_);
}

double SyntheticCurve::LossAt(int64_t step) const {
  if (diverge_step_ >= 0 && step >= diverge_step_) return kNaN;
  const uint64_t h = SplitMix64(noise_seed_ ^ SplitMix64(static_cast<uint64_t>(step)));
  const double gaussian = std::sqrt(-2.0 * std::log(Unit(h))) * std::cos(2.0 * M_PI * Unit(SplitMix64(h)));
  return MeanAt(step) + noise_ * gaussian;
}

absl::StatusOr<std::vector<std::unique_ptr<LearningCurve>>> DrawSyntheticCurves(const SyntheticFamily& family,
                                                                                int lanes, uint64_t seed,
                                                                                int64_t max_steps) {
  for (absl::Status status : {CheckRange("a", family.a_min, family.a_max), CheckRange("b", family.b_min, family.b_max),
                              CheckRange("c", family.c_min, family.c_max)}) {
    if (!status.ok()) return status;
  }
  if (!(family.noise >= 0) || !(family.diverge_fraction >= 0 && family.diverge_fraction <= 1)) {
    return absl::InvalidArgumentError(absl::StrCat("synthetic family: noise ", family.noise, ", diverge_fraction ",
                                                   family.diverge_fraction,
                                                   "; expected noise >= 0 and diverge_fraction in [0, 1]"));
  }
  if (lanes < 1 || max_steps < 1) {
    return absl::InvalidArgumentError(absl::StrCat("synthetic family: ", lanes, " lanes over ", max_steps,
                                                   " steps; expected at least 1 of each"));
  }
  std::mt19937_64 gen(seed);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  auto in = [&](double lo, double hi) { return lo + (hi - lo) * unit(gen); };
  std::vector<std::unique_ptr<LearningCurve>> curves;
  for (int lane = 0; lane < lanes; ++lane) {
    const double a = in(family.a_min, family.a_max);
    const double b = in(family.b_min, family.b_max);
    const double c = in(family.c_min, family.c_max);
    const bool diverges = unit(gen) < family.diverge_fraction;
    const int64_t diverge_at = 1 + static_cast<int64_t>(unit(gen) * static_cast<double>(max_steps));
    const uint64_t noise_seed = gen();
    curves.push_back(std::make_unique<SyntheticCurve>(a, b, c, family.noise, diverges ? diverge_at : -1, noise_seed));
  }
  return curves;
}

RecordedCurve::RecordedCurve(std::vector<std::pair<int64_t, double>> points) {
  // Points from the first non-finite one on are the divergence: only the finite prefix is interpolated.
  for (const auto& point : points) {
    if (!std::isfinite(point.second)) {
      diverge_step_ = point.first;
      break;
    }
    points_.push_back(point);
  }
}

double RecordedCurve::LossAt(int64_t step) const {
  if (diverge_step_ >= 0 && step >= diverge_step_) return kNaN;
  // No extrapolation before the first recorded point: the loss there is unknown.
  if (points_.empty() || step < points_.front().first) return kNaN;
  auto after = std::lower_bound(points_.begin(), points_.end(), step,
                                [](const std::pair<int64_t, double>& point, int64_t s) { return point.first < s; });
  if (after == points_.end()) return points_.back().second;
  if (after->first == step) return after->second;
  const auto before = after - 1;
  const double t = static_cast<double>(step - before->first) / static_cast<double>(after->first - before->first);
  return before->second + t * (after->second - before->second);
}

absl::StatusOr<std::vector<NamedCurve>> ParseCurvesCsv(const std::string& text, const std::string& source) {
  std::vector<std::string> order;
  std::map<std::string, std::vector<std::pair<int64_t, double>>> points;
  std::map<std::string, int64_t> batch_units, warmup_steps;
  int line_number = 0;
  size_t columns = 0;  // 3, 4 or 5, fixed by the header or the first data row
  bool first = true;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty()) continue;
    std::vector<absl::string_view> fields = absl::StrSplit(line, ',');
    for (auto& field : fields) field = absl::StripAsciiWhitespace(field);
    const std::string where = absl::StrCat(source, ":", line_number, ": ");
    const std::string spaced = absl::StrJoin(fields, ",");
    if (first) {
      first = false;
      const std::string header = absl::AsciiStrToLower(spaced);
      if (header == "lane,step,loss" || header == "lane,step,loss,batch_units" ||
          header == "lane,step,loss,batch_units,warmup_steps") {
        columns = fields.size();
        continue;
      }
    }
    if (columns == 0) columns = fields.size() == 4 || fields.size() == 5 ? fields.size() : 3;
    if (fields.size() != columns) {
      return absl::InvalidArgumentError(absl::StrCat(where, "found ", fields.size(), " fields; expected ", columns,
                                                     columns == 5   ? " (lane,step,loss,batch_units,warmup_steps)"
                                                     : columns == 4 ? " (lane,step,loss,batch_units)"
                                                                    : " (lane,step,loss)"));
    }
    int64_t step = 0;
    if (!absl::SimpleAtoi(fields[1], &step)) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, "field 2 (step) '", fields[1], "' is not an integer",
          line_number == 1 ? "; a header line must read lane,step,loss, lane,step,loss,batch_units or "
                             "lane,step,loss,batch_units,warmup_steps"
                           : ""));
    }
    double loss = 0;
    if (absl::AsciiStrToLower(fields[2]) == "nan") {
      loss = kNaN;
    } else if (!absl::SimpleAtod(fields[2], &loss)) {
      return absl::InvalidArgumentError(absl::StrCat(where, "field 3 (loss) '", fields[2],
                                                     "' is not a number (or nan)"));
    }
    if (step < 0) return absl::InvalidArgumentError(absl::StrCat(where, "field 2 (step) ", step, " is negative"));
    const std::string lane(fields[0]);
    if (lane.empty()) return absl::InvalidArgumentError(absl::StrCat(where, "field 1 (lane) is empty"));
    if (columns >= 4) {
      const LaneColumn units{4, "batch_units", 1, "a positive integer (global / micro batch)"};
      if (absl::Status status = ParseLaneColumn(where, fields[3], lane, units, &batch_units); !status.ok()) {
        return status;
      }
    }
    if (columns == 5) {
      const LaneColumn warmup{5, "warmup_steps", 0, "an integer >= 0 (optimizer.warmup_steps)"};
      if (absl::Status status = ParseLaneColumn(where, fields[4], lane, warmup, &warmup_steps); !status.ok()) {
        return status;
      }
    }
    if (!points.count(lane)) order.push_back(lane);
    points[lane].emplace_back(step, loss);
  }
  if (order.empty()) return absl::InvalidArgumentError(absl::StrCat(source, ": no curve points"));
  std::vector<NamedCurve> curves;
  for (const std::string& lane : order) {
    auto& lane_points = points[lane];
    std::sort(lane_points.begin(), lane_points.end(),
              [](const auto& x, const auto& y) { return x.first < y.first; });
    for (size_t i = 1; i < lane_points.size(); ++i) {
      if (lane_points[i].first == lane_points[i - 1].first) {
        return absl::InvalidArgumentError(absl::StrCat(source, ": lane '", lane, "' has step ", lane_points[i].first,
                                                       " twice; expected one loss per step"));
      }
    }
    const int units = batch_units.count(lane) ? static_cast<int>(batch_units[lane]) : 0;
    const int64_t warmup = warmup_steps.count(lane) ? warmup_steps[lane] : 0;
    curves.push_back(NamedCurve{lane, std::make_unique<RecordedCurve>(std::move(lane_points)), units, warmup});
  }
  return curves;
}

absl::StatusOr<std::vector<NamedCurve>> LoadCurvesCsv(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read curves CSV '", path, "'"));
  std::stringstream text;
  text << in.rdbuf();
  return ParseCurvesCsv(text.str(), path);
}

}  // namespace kachi::lanes
