// What `kachi bench scaling` prints and writes: the measured points (nccl-tests / Megatron-style table with the
// slowest rank's breakdown, tokens/s, efficiency, MFU, the model's prediction and its error), the fitted links and
// step model, the held-out error, the cluster projection, and the same as JSON lines.
#ifndef KACHI_BENCH_SCALING_SCALING_REPORT_H_
#define KACHI_BENCH_SCALING_SCALING_REPORT_H_

#include <ostream>
#include <string>
#include <vector>

#include "bench/scaling/alpha_beta.h"
#include "bench/scaling/calibration.h"
#include "bench/scaling/cluster_projection.h"
#include "bench/scaling/scaling_result.h"
#include "bench/scaling/step_model.h"
#include "runtime/proto/scaling.pb.h"

namespace kachi {

// Everything one run produced (rank 0).
struct ScalingReport {
  std::string title;                       // "kachi bench scaling: 4L 4H 128C ..., seq 128, cpu fp32"
  std::string setup;                       // one line: ranks, hosts, cores, steps
  std::vector<MeasuredPoint> points;
  std::vector<StepBreakdown> predicted;    // the model's step at each point (empty when no model)
  std::vector<bool> held_out;              // per point: not used by the fit (ranks > 2)
  std::vector<std::string> skipped;        // points the plan left out, with the reason
  std::vector<CollectiveSample> intra_host_samples;
  std::vector<CollectiveSample> inter_host_samples;
  LinkModel links;
  ScalingCalibration calibration;          // the probes per sub-world size (empty: calibrate off)
  StepModel model;
  bool has_model = false;
  config::ClusterSpec cluster;
  std::vector<ProjectedPoint> projection;
};

// Relative error of the predicted step time at point i: (predicted - measured) / measured.
double PredictionError(const ScalingReport& report, size_t i);
// Median and largest |error| over the held-out points; false when there is none.
bool HeldOutError(const ScalingReport& report, double* median_abs, double* max_abs);

// The tables and lines printed by rank 0.
void PrintScalingReport(const ScalingReport& report, std::ostream& out);
// One JSON object per line: {"record": "point" | "link" | "model" | "held_out" | "projection", ...}.
std::string ScalingJsonLines(const ScalingReport& report);

}  // namespace kachi

#endif  // KACHI_BENCH_SCALING_SCALING_REPORT_H_
