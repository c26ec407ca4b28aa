// Listed lanes, grid points and seeded random draws, with unique names.
#include "launcher/lanes/lane_expansion.h"

#include <cmath>
#include <random>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace kachi::lanes {
namespace {

// "optimizer.lr" -> "lr".
std::string ShortName(const std::string& field) {
  const size_t dot = field.rfind('.');
  return dot == std::string::npos ? field : field.substr(dot + 1);
}

absl::Status CheckAxis(const config::LaneSearchAxis& axis, bool random, int index) {
  const std::string who = absl::StrCat("search.", random ? "random" : "grid", "[", index, "]");
  if (axis.field().empty()) return absl::InvalidArgumentError(absl::StrCat(who, ": field is empty; expected a "
                                                                             "config field such as optimizer.lr"));
  if (!random && axis.values().empty()) {
    return absl::InvalidArgumentError(absl::StrCat(who, " (", axis.field(), "): no values; a grid axis needs values"));
  }
  if (random && axis.values().empty()) {
    if (!axis.has_min() || !axis.has_max() || !std::isfinite(axis.min()) || !std::isfinite(axis.max()) ||
        axis.min() > axis.max()) {
      return absl::InvalidArgumentError(absl::StrCat(who, " (", axis.field(), "): range [", axis.min(), ", ",
                                                     axis.max(), "]; expected values, or finite min <= max"));
    }
    if (axis.log_scale() && axis.min() <= 0) {
      return absl::InvalidArgumentError(absl::StrCat(who, " (", axis.field(), "): log_scale with min ", axis.min(),
                                                     "; expected min > 0"));
    }
  }
  return absl::OkStatus();
}

// One draw of a random axis, written as an override value.
std::string Draw(const config::LaneSearchAxis& axis, std::mt19937_64* gen) {
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  const double u = unit(*gen);
  if (!axis.values().empty()) {
    const int index = std::min(axis.values_size() - 1, static_cast<int>(u * axis.values_size()));
    return axis.values(index);
  }
  double value = axis.log_scale() ? std::exp(std::log(axis.min()) + u * (std::log(axis.max()) - std::log(axis.min())))
                                  : axis.min() + u * (axis.max() - axis.min());
  if (axis.integer()) return absl::StrCat(static_cast<int64_t>(std::llround(value)));
  return absl::StrFormat("%.6g", value);
}

}  // namespace

absl::StatusOr<std::vector<LaneDefinition>> ExpandLanes(const config::LanesFile& file) {
  std::vector<LaneDefinition> lanes;
  for (int i = 0; i < file.lanes_size(); ++i) {
    const config::LaneConfig& listed = file.lanes(i);
    LaneDefinition lane;
    lane.name = listed.name().empty() ? absl::StrCat("lane", i) : listed.name();
    lane.overrides.assign(listed.set().begin(), listed.set().end());
    lane.priority = listed.priority();
    lane.min_cards = static_cast<int>(listed.min_cards());
    lane.max_cards = static_cast<int>(listed.max_cards());
    lanes.push_back(std::move(lane));
  }
  const config::LaneSearchSpace& search = file.search();
  for (int i = 0; i < search.grid_size(); ++i) {
    if (absl::Status status = CheckAxis(search.grid(i), false, i); !status.ok()) return status;
  }
  for (int i = 0; i < search.random_size(); ++i) {
    if (absl::Status status = CheckAxis(search.random(i), true, i); !status.ok()) return status;
  }
  if (search.random_size() > 0 && search.random_lanes() == 0) {
    return absl::InvalidArgumentError("search: random axes given but random_lanes is 0; expected at least 1 draw");
  }
  if (search.random_size() == 0 && search.random_lanes() > 0) {
    return absl::InvalidArgumentError(absl::StrCat("search.random_lanes is ", search.random_lanes(),
                                                   " but no random axes are given"));
  }
  if (search.grid_size() > 0 || search.random_size() > 0) {
    // Grid points in odometer order (the last axis varies fastest).
    std::vector<std::vector<std::string>> points = {{}};
    for (const config::LaneSearchAxis& axis : search.grid()) {
      std::vector<std::vector<std::string>> next;
      for (const auto& point : points) {
        for (const std::string& value : axis.values()) {
          next.push_back(point);
          next.back().push_back(absl::StrCat(axis.field(), "=", value));
        }
      }
      points = std::move(next);
    }
    std::mt19937_64 gen(search.seed());
    const int draws = search.random_size() > 0 ? static_cast<int>(search.random_lanes()) : 1;
    for (const auto& point : points) {
      for (int draw = 0; draw < draws; ++draw) {
        LaneDefinition lane;
        lane.overrides = point;
        for (const config::LaneSearchAxis& axis : search.random()) {
          lane.overrides.push_back(absl::StrCat(axis.field(), "=", Draw(axis, &gen)));
        }
        std::vector<std::string> parts;
        for (const std::string& assignment : lane.overrides) {
          const size_t eq = assignment.find('=');
          parts.push_back(absl::StrCat(ShortName(assignment.substr(0, eq)), assignment.substr(eq)));
        }
        lane.name = absl::StrJoin(parts, ",");
        lanes.push_back(std::move(lane));
      }
    }
  }
  // Unique names: a repeated random draw gets "#2", "#3"...; a repeated listed name is an error.
  std::set<std::string> seen;
  for (size_t i = 0; i < lanes.size(); ++i) {
    if (seen.insert(lanes[i].name).second) continue;
    if (static_cast<int>(i) < file.lanes_size()) {
      return absl::InvalidArgumentError(absl::StrCat("lanes[", i, "]: name '", lanes[i].name,
                                                     "' is used twice; expected unique lane names"));
    }
    for (int copy = 2;; ++copy) {
      const std::string name = absl::StrCat(lanes[i].name, "#", copy);
      if (seen.insert(name).second) {
        lanes[i].name = name;
        break;
      }
    }
  }
  return lanes;
}

}  // namespace kachi::lanes
