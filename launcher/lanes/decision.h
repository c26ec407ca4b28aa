// The policy's decisions: what the executor (real or simulated) must do to a lane, with the cards involved.
#ifndef KACHI_LAUNCHER_LANES_DECISION_H_
#define KACHI_LAUNCHER_LANES_DECISION_H_

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace kachi::lanes {

// Kinds of decisions.
enum class DecisionKind {
  // Run the lane on `cards` from `step` (0: a fresh start; otherwise resume its checkpoint at that step).
  kStart,
  // The lane, waiting at rung `rung`, is among the best 1/eta there: it becomes runnable (kStart follows when it
  // gets cards).
  kPromote,
  // The lane reported at rung `rung` and is not (yet) promoted: it stays paused, its checkpoint kept.
  kPause,
  // Give the running lane more data-parallel replicas: `cards` is its new card set (a superset of the old one).
  kWiden,
  // Take replicas from the running lane: `cards` is its new card set (a subset of the old one).
  kShrink,
  // The lane produced a non-finite loss or failed (`reason`); it is stopped for good, its cards freed.
  kStop,
  // The lane reached max_steps with `loss`; its cards are freed.
  kFinish,
};

// "start", "promote", "pause", "widen", "shrink", "stop", "finish".
const char* DecisionKindName(DecisionKind kind);

// One decision.
struct Decision {
  DecisionKind kind = DecisionKind::kStart;
  // The lane's index in the policy's lane list.
  int lane = 0;
  // The executor's clock at the event that led to the decision.
  double time_s = 0;
  // The rung concerned (kPromote, kPause), or -1.
  int rung = -1;
  // kStart: the step to start from; kPromote/kPause/kFinish/kStop: the step reached.
  int64_t step = 0;
  // kPromote/kPause/kFinish: the loss reported; NaN otherwise.
  double loss = std::numeric_limits<double>::quiet_NaN();
  // kStart/kWiden/kShrink: the lane's cards afterwards, gang after gang (tp consecutive entries per replica).
  std::vector<int> cards;
  // kStop: why.
  std::string reason;
};

// One line: "t=120.0s start lane 3 (lr=3e-4) step 0 on 2 cards [4,5]"; a promotion or pause with a reason ends
// " reason WHY" (e.g. "reason runner-up"), as in the journal.
std::string DescribeDecision(const Decision& decision, const std::string& lane_name);

}  // namespace kachi::lanes

#endif  // KACHI_LAUNCHER_LANES_DECISION_H_
