// Where a simulated lanes run spends its pool's GPU-hours (issue 18, the GPU-hours lever): card-seconds rebuilt from
// the decision log (a lane holds its cards from kStart, through kWiden/kShrink, until the decision that follows
// its report: pause, promote, finish, stop, or a cut), split by what the cards were doing.
#ifndef KACHI_LAUNCHER_LANES_COST_BREAKDOWN_H_
#define KACHI_LAUNCHER_LANES_COST_BREAKDOWN_H_

#include <string>
#include <vector>

#include "launcher/lanes/simulator.h"

namespace kachi::lanes {

// GPU-hours (card-hours) by category. The first group partitions the held card-time by the segment's cause; the
// second by the lane's fate; `idle` is the pool's card-time nobody held.
struct CostBreakdown {
  // Segments from a fresh start to the first rung (every lane pays them).
  double first_rung = 0;
  // Segments after a promotion within the rung's quota (or the incumbent's "predicted best").
  double promoted = 0;
  // Segments after a runner-up promotion onto idle cards.
  double runner_up = 0;
  // Segments after a promotion for warmup grace.
  double warmup = 0;
  // Segments after a cut lane was resumed.
  double resumed = 0;
  // By fate: the chosen lane (all its segments), and of that the card-time above its minimum width; lanes that
  // ended paused or cut (beyond their first rung); lanes that finished but were not chosen; lanes stopped.
  double chosen = 0;
  double chosen_widened = 0;
  double cut_after_first_rung = 0;
  double finished_other = 0;
  double stopped = 0;
  // Card-time above every lane's minimum width (all lanes).
  double widened = 0;
  // Pool card-time not held by any lane.
  double idle = 0;
  double pool = 0;
};

// The breakdown of `result`, simulated from `input` with keep_decisions set.
CostBreakdown BreakDownCost(const SimulationInput& input, const SimulationResult& result);

// Adds `b` to `a` field by field (for means over seeds) and scales by `s`.
void AddCost(const CostBreakdown& b, double s, CostBreakdown* a);

// A markdown table row: "| label | pool | first rung | promoted | runner-up | warmup | ... |".
std::string CostHeader();
std::string CostRow(const std::string& label, const CostBreakdown& b);

}  // namespace kachi::lanes

#endif  // KACHI_LAUNCHER_LANES_COST_BREAKDOWN_H_
