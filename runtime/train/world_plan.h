// The world plan: the largest training layout that fits the hosts a job has left, for automatic resume after a
// host is lost (scripts/kachi-elastic.sh, launcher/slurm/train.sbatch through `kachi plan`). Tensor parallelism is
// kept (each TP group inside one host), data parallelism shrinks to the largest dp whose dp x tp ranks fit, and the
// global batch is kept through gradient accumulation: the micro-batch is the largest one, no larger than the
// configured one, that divides global_batch / dp (and eval_windows / dp). A checkpoint saved at any (dp, tp)
// reshards on load, so the resumed run continues the same loss curve.
#ifndef KACHI_RUNTIME_TRAIN_WORLD_PLAN_H_
#define KACHI_RUNTIME_TRAIN_WORLD_PLAN_H_

#include <string>

#include "absl/status/statusor.h"

namespace kachi {

// What the plan starts from.
struct WorldPlanInput {
  int hosts = 1;           // hosts left
  int ranks_per_host = 1;  // slots (GPUs or CPU ranks) per host
  int tp = 1;              // parallel.tp of the run
  int global_batch = 1;    // train.global_batch (kept)
  int micro_batch = 1;     // train.micro_batch (an upper bound)
  int eval_windows = 0;    // train.eval_windows (0: no evaluation)
};

// The layout to launch.
struct WorldPlan {
  int ranks = 1;        // dp x tp ranks to start
  int hosts = 1;        // hosts they need (ranks filled host by host)
  int dp = 1;
  int tp = 1;
  int micro_batch = 1;  // gradient accumulation = global_batch / (micro_batch x dp)
};

// The largest layout for `input`; an error when not even dp = 1 fits (tp larger than a host, no host left, or sizes
// that are not positive).
absl::StatusOr<WorldPlan> PlanWorld(const WorldPlanInput& input);

// "ranks 6 hosts 3 dp 3 tp 2 micro_batch 4 accumulation 1" (one line, for scripts).
std::string WorldPlanLine(const WorldPlan& plan, int global_batch);

}  // namespace kachi

#endif  // KACHI_RUNTIME_TRAIN_WORLD_PLAN_H_
