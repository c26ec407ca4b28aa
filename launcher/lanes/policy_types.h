// Inputs of the lane policy (launcher/lanes/policy.h): the pool's shape, the policy's options and each lane's
// scheduling needs, with their validation and the rung schedule they imply. Plain C++, no protobuf, so the real
// executor and the simulator hand the policy the very same values.
#ifndef KACHI_LAUNCHER_LANES_POLICY_TYPES_H_
#define KACHI_LAUNCHER_LANES_POLICY_TYPES_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace kachi::lanes {

// The card pool: cards 0..cards-1 (one card = one worker rank), grouped into nodes of cards_per_node consecutive
// cards (cards_per_node == 0 or >= cards: a single node).
struct PoolShape {
  int cards = 0;
  int cards_per_node = 0;

  // Cards per node after resolving 0 to the whole pool.
  int CardsPerNode() const { return cards_per_node <= 0 || cards_per_node > cards ? cards : cards_per_node; }
  // Number of nodes (the last one may be partial).
  int Nodes() const { return CardsPerNode() == 0 ? 0 : (cards + CardsPerNode() - 1) / CardsPerNode(); }
  // The node holding `card`.
  int NodeOf(int card) const { return card / CardsPerNode(); }
};

// Promotion-based successive halving with elastic widening.
struct PolicyOptions {
  // Steps every lane trains at most; reaching it finishes the lane.
  int64_t max_steps = 0;
  // The first rung (r0); rungs are min_steps * eta^k for every k with a rung below max_steps.
  int64_t min_steps = 0;
  // Reduction factor: rungs grow by eta, and the best 1/eta of a rung's reports are promoted.
  int eta = 3;
  // false: no rungs, every lane trains to max_steps (the equal-split policy).
  bool successive_halving = true;
  // Give cards no runnable lane needs to the best running lanes as extra data-parallel width.
  bool widen = true;
  // Widen a lane only while at least this many steps remain before its next rung (by its last progress report).
  int64_t widen_min_remaining_steps = 0;
  // Cards no runnable lane needs go first to paused runners-up ranked within the best 2/eta of their rung (deepest
  // rung, then best rank first), while some lane still runs; widening gets what is left.
  bool promote_runners_up = false;
  // The runners-up eligible at a rung of n reports: ranks below floor(n / eta) + runner_up_extra (0: below
  // ceil(2n / eta)), at rungs >= runner_up_min_rung. 2 measured best for its cost (bench/RESULTS.md, issue 18).
  int runner_up_extra = 2;
  int runner_up_min_rung = 0;
  // Learning-curve extrapolation (launcher/lanes/curve_fit.h): each lane's final measured loss is predicted from its
  // (step, loss) points after its warmup by a power-law fit with a band of predict_z standard errors (of a measured
  // loss: the fit's error and the measurement noise). At a rung, a lane whose optimistic prediction (band's lower
  // end) is worse than the incumbent's pessimistic one (the lowest upper end over the lanes not stopped; a finished
  // lane's final loss) is dropped: not promoted (it still takes its place in the rung's quota), nor as a runner-up,
  // while that holds (redone at every round, so a diverging incumbent frees them). At a closed rung the incumbent is
  // promoted if it waits there. Lanes with fewer than predict_min_points points are never dropped.
  bool predict_final = true;
  // With predict_final: a running lane that reports progress at a checkpoint (a chunk boundary, LaneProgress
  // .checkpointed) and whose optimistic prediction is worse than the incumbent's pessimistic one is cut there: paused
  // between rungs (kPause, reason "cut"), its cards freed, its checkpoint kept; it resumes from there (kPromote,
  // reason "resumed") if that stops holding (its incumbent diverged).
  bool predict_cut = true;
  // A running lane is cut only with at least this many points (fewer extrapolate too far: with 4 points over steps
  // 100-400 a cut lost the true best of a seed at step 400 of 8100).
  int predict_cut_min_points = 10;
  // z = 2.5 with cuts: on seeds 1-40, 41-80 and 81-120 x 5 families the same or better P(true best) and regret as
  // without prediction at fewer pool GPU-hours; z = 2 lost seeds 41-80 on crossing and late-bloomers, z = 1.5 seeds
  // 1-40 (bench/RESULTS.md, 2026-12-04).
  // (A band of the curve's mean instead of a measured loss, z = 4 before, cut true bests at 7400 of 8100 steps.)
  double predict_z = 2.5;
  // With predict_final, a lane with a warmup (grace_steps w, a linear ramp assumed) is fitted and predicted in
  // schedule time, the area under its learning-rate ramp (s - w/2 after the warmup), so lanes are compared at equal
  // schedule progress. Its points still start at the warmup's end: from half the warmup on (s^2 / 2w there) it cost
  // 15% fewer GPU-hours on warmup-heavy lanes but lost the true best in 1 of 40 seeds (bench/RESULTS.md).
  bool predict_warmup_time = true;
  double predict_noise_floor = 0.001;
  int predict_min_points = 4;
  // With predict_final: choose, among the finished lanes, the one whose fitted curve is lowest at max_steps (the
  // fit's mean over all its points) instead of the one whose last measured loss is lowest. For a noisy final
  // measurement (a small evaluation set): on the synthetic families (noise sd 0.01 per point) it finds the lane
  // that is best in expectation 0.82-0.90 of the time instead of 0.53-0.78, and the measured-best less often
  // (bench/RESULTS.md, 2026-12-04). A lane without a fit is ranked by its final loss.
  bool choose_by_fit = false;
  // Rungs in schedule time: a lane with a warmup (grace_steps w, a linear ramp assumed) reaches rung r at the step
  // where the area under its learning-rate ramp is r (sqrt(2 w r) while r < w/2, r + w/2 after), so it is judged
  // against the other lanes at equal schedule progress instead of being promoted blindly through the rungs inside
  // its warmup (warmup grace is then off). A rung its schedule puts at or past max_steps is skipped.
  bool schedule_rungs = false;
};

// What the policy needs to know about one lane.
struct LaneSpec {
  // For logs and reports.
  std::string name;
  // Runnable lanes with a higher priority get cards first.
  int priority = 0;
  // Cards per data-parallel replica (the tensor-parallel gang), always placed inside one node.
  int tp = 1;
  // Minimum and maximum cards (multiples of tp); 0 = tp and the whole pool.
  int min_cards = 0;
  int max_cards = 0;
  // Micro-batches per optimizer step (global_batch / micro_batch): the data-parallel width must divide it so the
  // global batch stays constant at every width. 0 = any width.
  int batch_units = 0;
  // Rungs below this step do not judge the lane (its warmup): it is promoted there whatever its loss.
  int64_t grace_steps = 0;
};

// The rung steps below max_steps (min_steps * eta^k), empty when successive_halving is off.
std::vector<int64_t> RungSteps(const PolicyOptions& options);

// Data-parallel widths (replica counts) a lane may run at in `pool`, ascending: between its min and max cards,
// dividing batch_units when set. Empty when none.
std::vector<int> AllowedWidths(const LaneSpec& lane, const PoolShape& pool);

// Checks the pool, the options and every lane (its tp fits a node, min <= max, multiples of tp, some allowed
// width, and its minimum width fits an empty pool). Errors name the lane and the value found and expected.
absl::Status ValidatePolicyInputs(const PoolShape& pool, const PolicyOptions& options,
                                  const std::vector<LaneSpec>& lanes);

}  // namespace kachi::lanes

#endif  // KACHI_LAUNCHER_LANES_POLICY_TYPES_H_
