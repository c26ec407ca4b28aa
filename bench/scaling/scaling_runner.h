// Measures one point of `kachi bench scaling`: carves a sub-world of the job's first `ranks` ranks (the others take
// part in the carve, then wait at the gather), trains the model there for warmup + timed steps with a StepTimeline
// on every member, and gathers every rank's step breakdowns to rank 0, which keeps, per step, the slowest rank's.
#ifndef KACHI_BENCH_SCALING_SCALING_RUNNER_H_
#define KACHI_BENCH_SCALING_SCALING_RUNNER_H_

#include <mpi.h>

#include <vector>

#include "absl/status/statusor.h"
#include "bench/scaling/scaling_result.h"
#include "comm/communicator.h"
#include "runtime/proto/config.pb.h"
#include "runtime/train/timeline.h"
#include "runtime/train/train_options.h"

namespace kachi {

// Where and how points run.
struct ScalingRunContext {
  Communicator* parent = nullptr;  // every rank of the job, in job order (the sub-worlds are carved from it)
  MPI_Comm job = MPI_COMM_WORLD;   // the same ranks, for gathering results
  int ranks_per_node = 1;          // ranks on this node (for the report and the widest tp)
  std::string host;                // this rank's host (discovery): TP groups stay inside one (comm/host_placement.h)
  std::vector<int> host_of_rank;   // by job rank: host index (discovery's node)
  std::vector<int> machine_of_rank;  // by job rank: physical machine (ranks sharing its cores)
  TrainOptions base;               // model, kernels, precision, data, zero1, buckets (batch and steps are set here)
  int warmup_steps = 1;
  int timed_steps = 3;
  // Checkpoint section to save with during the timed steps (null or empty dir: no saves, stall 0); each point
  // saves under <dir>/<ranks>r_<layout>_<mode>.
  const config::KachiConfig* checkpoint_config = nullptr;
  StepTimeline* timeline = nullptr;  // this rank's timeline (every point's steps are added to it)
  double matmul_tflops = 0;  // measured matmul ceiling per GPU for MFU (0: no MFU, e.g. CPU kernels)
};

// Collective over ctx.parent (every job rank calls it with the same point). The result is complete on rank 0; other
// ranks get the point with no measurements. Errors agree across the job's ranks.
absl::StatusOr<MeasuredPoint> MeasurePoint(const ScalingRunContext& ctx, const ScalingPoint& point);

// The compute calibration probe: the job's first `ranks` ranks each train the model alone (a 1-rank grid of its
// own, so no collectives) at `micro_batch` sequences, all at once, for warmup + timed steps; the result is the
// slowest member's breakdown per step as in MeasurePoint (its point: dp = ranks, tp = 1). What N ranks sharing the
// machines cost each other's forward/backward and optimizer (cores, memory bandwidth), measured rather than taken
// as ranks / cores. Collective over ctx.parent; complete on rank 0. Not added to ctx.timeline; no checkpoints.
absl::StatusOr<MeasuredPoint> MeasureComputeProbe(const ScalingRunContext& ctx, int ranks, int64_t micro_batch);

}  // namespace kachi

#endif  // KACHI_BENCH_SCALING_SCALING_RUNNER_H_
