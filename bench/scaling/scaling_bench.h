// `kachi bench scaling` end to end on every rank of the job: plans the points (scaling_plan.h), measures each on
// its carved sub-world (scaling_runner.h) once per round, with the compute probes of every sub-world size
// (calibration.h) in the same rounds, pools each point's steps over the rounds (median step), computes efficiencies
// against the 1-rank point of the same mode, times the all-reduce sweeps (inside a host; across hosts when there
// are several; on the first N ranks per size), fits the links and the step model on the 1- and 2-rank points and
// the probes, predicts every point, and projects to the configured cluster.
#ifndef KACHI_BENCH_SCALING_SCALING_BENCH_H_
#define KACHI_BENCH_SCALING_SCALING_BENCH_H_

#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "bench/scaling/scaling_report.h"
#include "bench/scaling/scaling_runner.h"
#include "runtime/proto/scaling.pb.h"

namespace kachi {

// The job as the benchmark sees it, plus what to run.
struct ScalingBenchSetup {
  ScalingRunContext run;                 // parent, job, nodes, machines, base options, steps, timeline
  int cores_per_machine = 1;             // CPUs this process may run on (sched_getaffinity)
  config::ScalingBenchConfig scaling;    // --bench_scaling
  bool project = true;                   // project to `cluster`
  config::ClusterSpec cluster;
  std::string title;                     // first line of the report
  std::ostream* progress = nullptr;      // rank 0: one line per measured point (may be null)
};

// One point's rounds pooled: every round's timed steps in one list, the median step (by the slowest rank's total;
// the lower middle one for an even count), or the fastest with `fastest`, with its breakdown and rank, tokens/s and
// MFU at that step; the rest from the first round. Empty: a default point.
MeasuredPoint PoolRounds(std::vector<MeasuredPoint> rounds, bool fastest = false);

// Collective over setup.run.parent. The report is complete on rank 0 (points, fit, prediction, projection); other
// ranks get an empty one. Errors agree across ranks.
absl::StatusOr<ScalingReport> RunScalingBench(const ScalingBenchSetup& setup);

}  // namespace kachi

#endif  // KACHI_BENCH_SCALING_SCALING_BENCH_H_
