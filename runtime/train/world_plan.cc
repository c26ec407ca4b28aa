// The world plan (see world_plan.h).
#include "runtime/train/world_plan.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace kachi {

absl::StatusOr<WorldPlan> PlanWorld(const WorldPlanInput& input) {
  if (input.hosts <= 0) return absl::FailedPreconditionError("world plan: no host left");
  if (input.ranks_per_host <= 0 || input.tp <= 0 || input.global_batch <= 0 || input.micro_batch <= 0 ||
      input.eval_windows < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "world plan: sizes must be positive (ranks_per_host ", input.ranks_per_host, ", tp ", input.tp,
        ", global_batch ", input.global_batch, ", micro_batch ", input.micro_batch, ", eval_windows ",
        input.eval_windows, ")"));
  }
  if (input.ranks_per_host % input.tp != 0) {
    return absl::FailedPreconditionError(absl::StrCat("world plan: tp ", input.tp, " does not divide the ",
                                                      input.ranks_per_host,
                                                      " ranks of a host (a TP group must stay inside one host)"));
  }
  const int max_dp = input.hosts * input.ranks_per_host / input.tp;
  for (int dp = max_dp; dp >= 1; --dp) {
    if (input.global_batch % dp != 0) continue;
    if (input.eval_windows > 0 && input.eval_windows % dp != 0) continue;
    for (int micro = std::min(input.micro_batch, input.global_batch / dp); micro >= 1; --micro) {
      if (input.global_batch % (micro * dp) != 0) continue;
      if (input.eval_windows > 0 && input.eval_windows % (micro * dp) != 0) continue;
      WorldPlan plan;
      plan.dp = dp;
      plan.tp = input.tp;
      plan.ranks = dp * input.tp;
      plan.hosts = (plan.ranks + input.ranks_per_host - 1) / input.ranks_per_host;
      plan.micro_batch = micro;
      return plan;
    }
  }
  return absl::FailedPreconditionError(absl::StrCat("world plan: no layout of ", input.hosts, " hosts x ",
                                                    input.ranks_per_host, " ranks fits tp ", input.tp,
                                                    " and global_batch ", input.global_batch));
}

std::string WorldPlanLine(const WorldPlan& plan, int global_batch) {
  return absl::StrCat("ranks ", plan.ranks, " hosts ", plan.hosts, " dp ", plan.dp, " tp ", plan.tp, " micro_batch ",
                      plan.micro_batch, " accumulation ", global_batch / (plan.micro_batch * plan.dp));
}

}  // namespace kachi
