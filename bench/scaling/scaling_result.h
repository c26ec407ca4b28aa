// What `kachi bench scaling` measured at one point: the slowest rank's breakdown of the median step, throughput,
// efficiency against the 1-rank sub-world of the same mode, and the collectives one step issued (the schedule the
// cost model prices).
#ifndef KACHI_BENCH_SCALING_SCALING_RESULT_H_
#define KACHI_BENCH_SCALING_SCALING_RESULT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "bench/scaling/scaling_plan.h"
#include "comm/communicator.h"
#include "runtime/train/timeline.h"

namespace kachi {

// One collective of a step as rank 0 issued it.
struct CollectiveCall {
  CollectiveKind kind = CollectiveKind::kAllReduce;
  std::string group;  // "dp", "tp" or "world" (the communicator's name after its last '/')
  int ranks = 1;      // ranks of that communicator
  int64_t bytes = 0;  // as Communicator counts them
  double seconds = 0; // time blocked in it
};

struct MeasuredPoint {
  ScalingPoint point;
  StepBreakdown median;            // the slowest rank's breakdown of the median step (by that rank's total)
  int slowest_rank = 0;            // job rank that was slowest in the median step
  std::vector<double> step_totals; // the slowest rank's total of every timed step, seconds
  std::vector<StepBreakdown> steps;  // the slowest rank's breakdown of every timed step, in order
  std::vector<int> step_ranks;       // and that rank
  double tokens_per_s = 0;         // global batch x seq_len / median.total_s
  double efficiency = 0;           // tokens_per_s / (ranks x the 1-rank tokens_per_s of the same mode)
  double mfu = 0;                  // model FLOPs / (ranks x matmul ceiling); 0 when not on GPUs
  int hosts = 1;                   // hosts the sub-world spans
  int ranks_per_machine = 1;       // most ranks of the sub-world sharing one physical machine (its cores)
  std::vector<CollectiveCall> schedule;  // rank 0's collectives in its last timed step
};

}  // namespace kachi

#endif  // KACHI_BENCH_SCALING_SCALING_RESULT_H_
