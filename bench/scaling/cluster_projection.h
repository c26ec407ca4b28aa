// The projection of data-parallel training to a named GPU cluster (a ClusterSpec: GPUs per host, intra- and inter-
// host bus bandwidth and latency, the per-GPU training rate): for each model and GPU count, the step's compute,
// its gradient all-reduce (ring or tree, by the alpha-beta formulas of alpha_beta.h, over NVLink inside one host
// and the NICs across hosts), how much of it backward hides when gradients go out in buckets, the efficiency, and
// the bucket size that exposes the least.
#ifndef KACHI_BENCH_SCALING_CLUSTER_PROJECTION_H_
#define KACHI_BENCH_SCALING_CLUSTER_PROJECTION_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "bench/scaling/alpha_beta.h"
#include "runtime/proto/scaling.pb.h"

namespace kachi {

// One projected (model, GPU count).
struct ProjectedPoint {
  std::string preset;
  int64_t parameters = 0;
  int gpus = 0;
  int hosts = 0;
  double compute_s = 0;      // one GPU's forward + backward + optimizer at the spec's micro-batch
  double allreduce_s = 0;    // all gradient buckets, back to back
  double exposed_s = 0;      // what the step waits for after backward
  double step_s = 0;         // compute + exposed
  double efficiency = 0;     // compute / step
  double tokens_per_s = 0;   // whole cluster
  uint64_t best_bucket_bytes = 0;  // the bucket (1 MiB .. 1 GiB, powers of 2) exposing the least at this point
  double best_exposed_s = 0;
};

// Seconds a step waits for the gradient all-reduce when `grad_bytes` go out in buckets of `bucket_bytes`, each
// launched as backward (which ends `backward_s` into the step, finalizing gradients at a uniform rate) has
// finalized it, the buckets one after another on the link: the finish of the last bucket minus the end of
// backward (0 when everything is hidden). `bucket_seconds(bytes)` prices one bucket.
double ExposedAllReduceSeconds(double grad_bytes, double bucket_bytes, double backward_s,
                               const std::function<double(double)>& bucket_seconds);

// The gradient all-reduce link of `gpus` GPUs: NVLink inside one host, the per-GPU NIC bandwidth beyond.
AlphaBeta ClusterAllReduceLink(const config::ClusterSpec& spec, int gpus);

// Every (preset, GPU count) of `spec` (defaults: GPT-2 124M, 350M, 774M, 1.5B; 8 to 1024 GPUs by powers of 2).
absl::StatusOr<std::vector<ProjectedPoint>> ProjectCluster(const config::ClusterSpec& spec);

}  // namespace kachi

#endif  // KACHI_BENCH_SCALING_CLUSTER_PROJECTION_H_
