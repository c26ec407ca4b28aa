// Rung schedule, allowed widths and validation of the lane policy's inputs.
#include "launcher/lanes/policy_types.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace kachi::lanes {
namespace {

// Cards a lane may hold at most in `pool` (its max_cards, or the pool when 0).
int MaxCards(const LaneSpec& lane, const PoolShape& pool) {
  return lane.max_cards > 0 ? std::min(lane.max_cards, pool.cards) : pool.cards;
}

// Replicas of `tp` cards that an empty pool can hold, each inside one node.
int GangCapacityOfEmptyPool(const PoolShape& pool, int tp) {
  int gangs = 0;
  for (int node = 0; node < pool.Nodes(); ++node) {
    const int first = node * pool.CardsPerNode();
    const int cards = std::min(pool.cards, first + pool.CardsPerNode()) - first;
    gangs += cards / tp;
  }
  return gangs;
}

absl::Status ValidateLane(const PoolShape& pool, const LaneSpec& lane, size_t index) {
  const std::string who = absl::StrCat("lane ", index, " (", lane.name, ")");
  if (lane.tp < 1) return absl::InvalidArgumentError(absl::StrCat(who, ": tp is ", lane.tp, "; expected >= 1"));
  if (pool.CardsPerNode() % lane.tp != 0) {
    return absl::InvalidArgumentError(absl::StrCat(who, ": tp ", lane.tp, " does not divide the ",
                                                   pool.CardsPerNode(),
                                                   " cards per node; a tensor-parallel gang must fit a node"));
  }
  if (lane.min_cards < 0 || lane.max_cards < 0 || lane.batch_units < 0) {
    return absl::InvalidArgumentError(absl::StrCat(who, ": min_cards ", lane.min_cards, ", max_cards ",
                                                   lane.max_cards, ", batch_units ", lane.batch_units,
                                                   "; expected none negative"));
  }
  if (lane.min_cards % lane.tp != 0 || lane.max_cards % lane.tp != 0) {
    return absl::InvalidArgumentError(absl::StrCat(who, ": min_cards ", lane.min_cards, " and max_cards ",
                                                   lane.max_cards, " must be multiples of its tp ", lane.tp));
  }
  if (lane.max_cards > 0 && lane.min_cards > lane.max_cards) {
    return absl::InvalidArgumentError(absl::StrCat(who, ": min_cards ", lane.min_cards, " > max_cards ",
                                                   lane.max_cards, "; expected min <= max"));
  }
  const std::vector<int> widths = AllowedWidths(lane, pool);
  if (widths.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        who, ": no data-parallel width fits: cards ", std::max(lane.min_cards, lane.tp), "..",
        MaxCards(lane, pool), " in a pool of ", pool.cards, " with tp ", lane.tp,
        lane.batch_units > 0 ? absl::StrCat(" and a width dividing ", lane.batch_units, " micro-batches") : ""));
  }
  if (widths.front() > GangCapacityOfEmptyPool(pool, lane.tp)) {
    return absl::InvalidArgumentError(absl::StrCat(who, ": its minimum of ", widths.front(), " gangs of ", lane.tp,
                                                   " cards does not fit the empty pool (", pool.cards,
                                                   " cards, ", pool.CardsPerNode(), " per node)"));
  }
  return absl::OkStatus();
}

}  // namespace

std::vector<int64_t> RungSteps(const PolicyOptions& options) {
  std::vector<int64_t> rungs;
  if (!options.successive_halving || options.min_steps <= 0 || options.eta < 2) return rungs;
  for (int64_t step = options.min_steps; step < options.max_steps; step *= options.eta) rungs.push_back(step);
  return rungs;
}

std::vector<int> AllowedWidths(const LaneSpec& lane, const PoolShape& pool) {
  std::vector<int> widths;
  if (lane.tp < 1) return widths;
  const int min_width = std::max(1, (lane.min_cards + lane.tp - 1) / lane.tp);
  const int max_width = MaxCards(lane, pool) / lane.tp;
  for (int width = min_width; width <= max_width; ++width) {
    if (lane.batch_units == 0 || lane.batch_units % width == 0) widths.push_back(width);
  }
  return widths;
}

absl::Status ValidatePolicyInputs(const PoolShape& pool, const PolicyOptions& options,
                                  const std::vector<LaneSpec>& lanes) {
  if (pool.cards < 1) {
    return absl::InvalidArgumentError(absl::StrCat("pool has ", pool.cards, " cards; expected at least 1"));
  }
  if (options.max_steps < 1) {
    return absl::InvalidArgumentError(absl::StrCat("max_steps is ", options.max_steps, "; expected >= 1"));
  }
  if (options.successive_halving) {
    if (options.eta < 2) {
      return absl::InvalidArgumentError(absl::StrCat("eta is ", options.eta, "; expected >= 2"));
    }
    if (options.min_steps < 1 || options.min_steps >= options.max_steps) {
      return absl::InvalidArgumentError(absl::StrCat("min_steps (first rung) is ", options.min_steps,
                                                     "; expected 1 <= min_steps < max_steps (",
                                                     options.max_steps, ")"));
    }
  }
  if (options.widen_min_remaining_steps < 0) {
    return absl::InvalidArgumentError(absl::StrCat("widen_min_remaining_steps is ",
                                                   options.widen_min_remaining_steps, "; expected >= 0"));
  }
  if (lanes.empty()) return absl::InvalidArgumentError("no lanes; expected at least one");
  for (size_t i = 0; i < lanes.size(); ++i) {
    if (absl::Status status = ValidateLane(pool, lanes[i], i); !status.ok()) return status;
  }
  return absl::OkStatus();
}

}  // namespace kachi::lanes
