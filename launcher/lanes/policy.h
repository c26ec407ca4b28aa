// The lane scheduler's policy: promotion-based asynchronous successive halving (ASHA) with elastic widening,
// driven by events. The executor (real lanes or the simulator) reports what happened (OnRungReached, OnFailure,
// OnTick) and asks Decide() what to do next; the answer is a list of decisions with card assignments. Given the
// same events in the same order, the decisions are the same.
//
// Rules: rungs at min_steps * eta^k steps below max_steps. A lane reaching a rung reports its loss and releases its
// cards at once. At each rung the best floor(n/eta) of the n reports are promoted as soon as they are in that set
// (once no lane can reach the rung any more, at least one is; stopped lanes take no place among them); the others
// are paused with their checkpoint and may still be promoted later. Runnable lanes (fresh or promoted) get their
// minimum width, by priority, then deeper rung first, then index, skipping lanes that do not fit (backfill); when
// free cards do not suffice, widened lanes are shrunk (worst first). Cards no runnable lane needs go to the best
// running lanes as extra data-parallel width up to their maximum (with promote_runners_up, paused runners-up ranked
// within floor(n/eta) + runner_up_extra of their rung get them first, while a lane still runs). A lane is not
// judged at rungs below its grace_steps (warmup): it is promoted there. With predict_final, lanes whose predicted
// final loss is clearly worse than the incumbent's are dropped at their rung, and with predict_cut running lanes
// are cut at a checkpoint between rungs (PolicyOptions). Every replica (tp cards) lies inside one node.
// A non-finite loss or a failure stops the lane; the others go on.
#ifndef KACHI_LAUNCHER_LANES_POLICY_H_
#define KACHI_LAUNCHER_LANES_POLICY_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "launcher/lanes/card_pool.h"
#include "launcher/lanes/curve_fit.h"
#include "launcher/lanes/decision.h"
#include "launcher/lanes/policy_types.h"

namespace kachi::lanes {

// Where a lane is in its life.
enum class LaneState {
  // Runnable, waiting for cards (never started, or promoted).
  kWaiting,
  // Holding cards and training toward its next rung (or max_steps).
  kRunning,
  // Reported at a rung; Decide() promotes or pauses it.
  kAtRung,
  // Fell out at a rung; its checkpoint is kept and it may still be promoted.
  kPaused,
  // Reached max_steps.
  kFinished,
  // Stopped for a non-finite loss or a failure.
  kStopped,
};

// "waiting", "running", "at_rung", "paused", "finished", "stopped".
const char* LaneStateName(LaneState state);

// The policy's view of one lane.
struct LaneStatus {
  LaneState state = LaneState::kWaiting;
  // The step its checkpoint is at (where it starts from next).
  int64_t checkpoint_step = 0;
  // The latest step it reported (OnTick or a rung), at least checkpoint_step.
  int64_t progress_step = 0;
  // Index of its next target in Targets() (rungs, then max_steps).
  int target = 0;
  // The cards it holds, gang after gang (empty unless running).
  std::vector<int> cards;
  // The cards it held last (preferred when it starts again).
  std::vector<int> previous_cards;
  // Its loss at each rung it reached (NaN where it has not).
  std::vector<double> rung_losses;
  // Its loss at max_steps once finished (NaN before).
  double final_loss = 0;
  // Why it was stopped (kStopped only).
  std::string stop_reason;
  // Seconds it spent runnable but without cards, summed over its waits.
  double queued_s = 0;
  // When its current wait began (kWaiting only).
  double waiting_since_s = 0;
  // Times it was started (fresh or resumed).
  int starts = 0;
  // Its (step, loss) reports after its warmup, ascending, thinned to steps >= 8% apart (predict_final only), at
  // FitStep (schedule time with predict_warmup_time).
  std::vector<std::pair<int64_t, double>> points;
  // Dropped by its predicted final loss at the latest round (predict_final): not promoted while it stays so.
  bool predicted_out = false;
  // It reported progress at a checkpoint since the last Decide() (it may be cut there).
  bool at_checkpoint = false;
  // Paused between rungs by predict_cut (kPaused with its target still ahead); resumed when no longer dropped.
  bool cut = false;
};

// A lane's latest step and loss, reported by the executor between rungs.
struct LaneProgress {
  int lane = 0;
  int64_t step = 0;
  double loss = 0;
  // The lane's chunk ended at `step` with its checkpoint there and its cards are idle (the real executor's TICK, the
  // simulator's chunk boundaries): the policy may cut it here (predict_cut). Its checkpoint_step becomes `step`.
  bool checkpointed = false;
};

// The policy. Not thread-safe: one executor thread drives it.
class LanePolicy {
 public:
  // Validates the inputs (ValidatePolicyInputs). Every lane starts runnable at time 0.
  static absl::StatusOr<LanePolicy> Create(PoolShape pool, PolicyOptions options, std::vector<LaneSpec> lanes);

  // `lane` reached `step`, its next rung or max_steps, and reports `loss` (its checkpoint at `step` is written).
  // Its cards are free at once. A non-finite loss stops it. Errors (FailedPrecondition/InvalidArgument): a lane
  // that is not running, a step that is not its next target, a time earlier than the previous event.
  absl::Status OnRungReached(int lane, int64_t step, double loss, double now_s);
  // The running `lane` failed (a crash, a lost rank, a NaN seen by the executor): it is stopped, its cards freed.
  absl::Status OnFailure(int lane, const std::string& reason, double now_s);
  // The clock advanced to `now_s`, with optional progress of running lanes (used to rank lanes and to decide
  // whether widening is worth it). A non-finite loss stops that lane.
  absl::Status OnTick(double now_s, const std::vector<LaneProgress>& progress = {});

  // The decisions that follow from every event so far, in order: stops and finishes, promotions and pauses,
  // shrinks, starts, widenings. The policy's state already reflects them.
  std::vector<Decision> Decide();

  // Moves the policy onto a pool of shape `pool` (defined in policy_repool.cc, for a resume after a host loss):
  // running lanes give up their cards and wait again from their checkpoints; paused, finished and stopped lanes
  // keep their state; no card memory of the old pool is kept. InvalidArgument when a lane no longer fits.
  absl::Status Repool(PoolShape pool);

  // True when no lane is running, runnable or awaiting a verdict (the remaining ones are finished, stopped or
  // paused for good).
  bool Done() const;
  // The finished lane with the lowest final loss (with choose_by_fit: the lowest fitted final), ties: lowest index;
  // nullopt when none finished.
  std::optional<int> BestLane() const;

  // Steps of the rungs followed by max_steps (in schedule time with schedule_rungs: see TargetStep).
  const std::vector<int64_t>& Targets() const { return targets_; }
  // The step at which `lane` reaches target k (0..Rungs()): Targets()[k], or with schedule_rungs for a lane with a
  // warmup the step at which its schedule time (FitStep) reaches it; max_steps for k == Rungs().
  int64_t TargetStep(int lane, int k) const;
  // The step of the lane's next target (TargetStep(lane, status(lane).target)): where its chunks end at the latest.
  int64_t NextTargetStep(int lane) const { return TargetStep(lane, lanes_[lane].target); }
  // Number of rungs (Targets().size() - 1).
  int Rungs() const { return static_cast<int>(targets_.size()) - 1; }
  // The lanes' specs and statuses, by index.
  const std::vector<LaneSpec>& specs() const { return specs_; }
  const LaneStatus& status(int lane) const { return lanes_[lane]; }
  int lane_count() const { return static_cast<int>(lanes_.size()); }
  // The card ownership.
  const CardPool& pool() const { return pool_; }
  const PolicyOptions& options() const { return options_; }
  // Time of the latest event.
  double now_s() const { return now_s_; }

 private:
  LanePolicy(PoolShape pool, PolicyOptions options, std::vector<LaneSpec> lanes);

  absl::Status CheckEvent(int lane, double now_s, const char* event) const;
  // Stops `lane`, freeing its cards, and queues a kStop decision.
  void Stop(int lane, int64_t step, const std::string& reason);
  // Frees the lane's cards (remembered as previous_cards).
  void ReleaseCards(int lane);
  // Promotes the promotable lanes of every rung, bottom up, then pauses the rest of the lanes awaiting a verdict.
  void Promote(std::vector<Decision>* out);
  // With promote_runners_up: promotes the best paused runner-up that fits the free cards when no lane is runnable
  // and some lane runs. Returns whether it promoted one.
  bool PromoteRunnerUp(std::vector<Decision>* out);
  // The step at which `lane`'s points are fitted and predicted: `step`, or with predict_warmup_time its schedule time.
  int64_t FitStep(int lane, int64_t step) const;
  // The lane's target after target k: k + 1, skipping rungs that its schedule puts at or past max_steps.
  int NextTarget(int lane, int k) const;
  // Adds a (step, loss) report to the lane's points (predict_final only).
  void Record(int lane, int64_t step, double loss);
  // The power-law fit of the lane's points, predicted at max_steps; nullopt without enough points.
  std::optional<LossPrediction> FitFinal(int lane) const;
  // The lane's predicted final loss (cached until its points change); nullopt without enough points.
  std::optional<LossPrediction> Predict(int lane);
  // With predict_final, at every round: drops the lanes awaiting a verdict or paused whose optimistic prediction is
  // worse than the incumbent's pessimistic one (and undrops the others). Returns the incumbent (-1: none).
  int DropByPrediction();
  // With predict_cut, after DropByPrediction: cuts the running lanes at a checkpoint that it dropped and resumes the
  // cut lanes it no longer drops.
  void CutByPrediction(std::vector<Decision>* out);
  // Gives runnable lanes their minimum width, shrinking widened lanes when needed.
  void Place(std::vector<Decision>* out);
  // Widens the best running lanes with the free cards.
  void Widen(std::vector<Decision>* out);
  // Tries to free room for `gangs` gangs of `tp` by shrinking widened lanes other than `lane`, worst first.
  // Returns the cards for `lane` (empty when even that does not make room; then nothing changes).
  std::vector<int> ShrinkForRoom(int lane, int gangs, std::vector<Decision>* out);
  // Sets the lane's cards to `cards` (taking and releasing in the pool).
  void Assign(int lane, const std::vector<int>& cards);
  // Running lanes from best to worst: priority, deeper rung, lower loss at it, lower index.
  std::vector<int> RunningByMerit() const;
  // The lane's current data-parallel width.
  int Width(int lane) const { return static_cast<int>(lanes_[lane].cards.size()) / specs_[lane].tp; }

  PolicyOptions options_;
  std::vector<LaneSpec> specs_;
  std::vector<std::vector<int>> widths_;  // AllowedWidths per lane
  std::vector<int64_t> targets_;
  std::vector<LaneStatus> lanes_;
  // Per rung: (loss, lane) of every report, sorted ascending.
  std::vector<std::vector<std::pair<double, int>>> reports_;
  CardPool pool_;
  double now_s_ = 0;
  // Per lane: Record() calls so far, and Predict()'s cache (the prediction and the Record() count it was made at).
  std::vector<size_t> records_;
  std::vector<std::pair<size_t, std::optional<LossPrediction>>> predictions_;
  // Decisions made by events (stop, finish), handed out by the next Decide().
  std::vector<Decision> pending_;
};

}  // namespace kachi::lanes

#endif  // KACHI_LAUNCHER_LANES_POLICY_H_
