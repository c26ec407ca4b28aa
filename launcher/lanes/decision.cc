// Names and one-line descriptions of the policy's decisions.
#include "launcher/lanes/decision.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace kachi::lanes {

const char* DecisionKindName(DecisionKind kind) {
  switch (kind) {
    case DecisionKind::kStart: return "start";
    case DecisionKind::kPromote: return "promote";
    case DecisionKind::kPause: return "pause";
    case DecisionKind::kWiden: return "widen";
    case DecisionKind::kShrink: return "shrink";
    case DecisionKind::kStop: return "stop";
    case DecisionKind::kFinish: return "finish";
  }
  return "unknown";
}

std::string DescribeDecision(const Decision& decision, const std::string& lane_name) {
  std::string line = absl::StrFormat("t=%.1fs %-7s lane %d (%s)", decision.time_s, DecisionKindName(decision.kind),
                                     decision.lane, lane_name);
  switch (decision.kind) {
    case DecisionKind::kStart:
    case DecisionKind::kWiden:
    case DecisionKind::kShrink:
      if (decision.kind == DecisionKind::kStart) absl::StrAppend(&line, " from step ", decision.step);
      absl::StrAppend(&line, " on ", decision.cards.size(), " cards [", absl::StrJoin(decision.cards, ","), "]");
      break;
    case DecisionKind::kPromote:
    case DecisionKind::kPause:
      absl::StrAppend(&line, absl::StrFormat(" at rung %d (step %d) loss %.4f", decision.rung, decision.step,
                                             decision.loss));
      // Why, where the policy says (runner-up, warmup, predicted, cut, ...), as the journal prints it.
      if (!decision.reason.empty()) absl::StrAppend(&line, " reason ", decision.reason);
      break;
    case DecisionKind::kFinish:
      absl::StrAppend(&line, absl::StrFormat(" at step %d loss %.4f", decision.step, decision.loss));
      break;
    case DecisionKind::kStop:
      absl::StrAppend(&line, " at step ", decision.step, ": ", decision.reason);
      break;
  }
  return line;
}

}  // namespace kachi::lanes
