// The cost model of one training step that `kachi bench scaling` fits on its 1- and 2-rank points and checks on the
// larger, held-out ones. Calibrated (the default: calibration.h), at every probed sub-world size N:
//   compute    the compute probe at N (N ranks training alone at once, the slowest rank's wall time: cores and
//              memory shared, ranks descheduled), resized in proportion to the point's micro-batch and split over
//              tp ranks with the serial fraction s (fitted on the tp 2 point against the probe at 2); optimizer
//              (/ tp, / dp with ZeRO-1) and data likewise from the probe at N;
//   comm       each collective of the step (the schedules recorded at dp 2 and tp 2, resized to the point) priced
//              by the alpha-beta formulas on the link swept on the point's own N ranks, as is: the waits for
//              slower peers are already in the probe's slowest rank. The 2-rank points' wait beyond that (measured
//              step - model) is reported, not carried to N: it is the noise of two points on a shared machine,
//              and multiplied onto another link it grew the error (bench/RESULTS.md).
// Uncalibrated (calibrate: false, or a size without probes):
//   compute    the 1-rank compute as c0 + c1 x sequences (fitted on the weak and strong 1-rank points), times the
//              contention of two ranks on one machine (measured at dp 2), split over tp ranks with a serial
//              fraction s (fitted on the tp 2 point: compute(tp) = c (s + (1 - s) / tp)), and slowed by
//              ranks-per-machine / cores when the ranks oversubscribe the machine's cores;
//   comm       each collective of the step (the schedule recorded at dp 2 and tp 2, resized to the point: data-
//              parallel buffers / tp, activations x micro-batch) priced by the alpha-beta formulas on the link it
//              crosses (inside a host or across hosts), times the exposed fraction measured at 2 ranks (what the
//              training thread actually waited / what the formulas give: overlap, skew and copies);
//   optimizer  the 1-rank optimizer time / tp (/ dp with ZeRO-1); data: per sequence; both slowed like compute;
//   checkpoint the 1-rank stall scaled like the optimizer (each rank snapshots its share of the state).
#ifndef KACHI_BENCH_SCALING_STEP_MODEL_H_
#define KACHI_BENCH_SCALING_STEP_MODEL_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "bench/scaling/alpha_beta.h"
#include "bench/scaling/calibration.h"
#include "bench/scaling/scaling_result.h"

namespace kachi {

// The links the collectives run over: fitted inside a host, and across hosts when the job has several.
struct LinkModel {
  AlphaBeta intra_host;
  AlphaBeta inter_host;
  bool has_inter_host = false;
};

// The fitted parameters (printed with the projection).
struct StepModel {
  double compute_fixed_s = 0;    // c0
  double compute_per_seq_s = 0;  // c1
  double contention = 1;         // compute at dp 2 / the 1-rank compute at the same micro-batch
  double tp_serial_fraction = 0; // s
  double data_per_seq_s = 0;
  double optimizer_s = 0;        // at 1 rank
  double checkpoint_s = 0;       // at 1 rank
  double dp_exposed_fraction = 1;  // (uncalibrated) measured exposed comm at 2 ranks / formula
  double tp_exposed_fraction = 1;
  double dp2_wait_s = 0;            // dp 2 / tp 2 measured - predicted step (calibrated: reported, not used)
  double tp2_wait_s = 0;
  int cores_per_machine = 1;
  bool zero1 = false;
  LinkModel links;
  // The recorded schedules and the micro-batch of the tp one.
  std::vector<CollectiveCall> dp_schedule;
  std::vector<CollectiveCall> tp_schedule;
  int64_t tp_schedule_micro_batch = 1;
  // Calibrated (the probes of calibration.h): per sub-world size, the compute slowdown (the compute probe's
  // slowest rank at N / at 1) and the link fitted on the N ranks; used instead of contention x ranks / cores and
  // the 2-rank link at the sizes probed.
  bool calibrated = false;
  int64_t probe_micro_batch = 1;
  std::vector<std::pair<int, StepBreakdown>> probes;  // by N: the compute probe's slowest rank, median step
  std::vector<std::pair<int, AlphaBeta>> link_by_ranks;
  // The probe at `ranks` (null when not probed) and the link (null when not swept).
  const StepBreakdown* ProbeAt(int ranks) const;
  const AlphaBeta* LinkAt(int ranks) const;
  // Compute of `ranks` ranks alone at once / 1 rank alone, from the probes (0 when either is missing).
  double SlowdownAt(int ranks) const;
};

// Fits the model on the points with 1 and 2 ranks (others are ignored). Needs a 1-rank point; the dp 2 and tp 2
// points are used when present (without them, no contention / serial fraction / schedule of that kind).
// With `calibration` (may be null), the compute probes and per-size links replace the ranks / cores slowdown and
// the 2-rank link at every probed size; the exposed fractions are then fitted against the 2-rank probed link.
absl::StatusOr<StepModel> FitStepModel(const std::vector<MeasuredPoint>& points, const LinkModel& links,
                                       int cores_per_machine, bool zero1,
                                       const ScalingCalibration* calibration = nullptr);

// The model's step at `point` on `hosts` hosts with at most `ranks_per_machine` of its ranks sharing a machine.
StepBreakdown PredictStep(const StepModel& model, const ScalingPoint& point, int hosts, int ranks_per_machine);

// Seconds the alpha-beta formulas give for the collectives of `point` (before the exposed fraction), by group.
struct CommPrediction {
  double dp_s = 0;
  double tp_s = 0;
};
CommPrediction PredictCollectives(const StepModel& model, const ScalingPoint& point, int hosts);

}  // namespace kachi

#endif  // KACHI_BENCH_SCALING_STEP_MODEL_H_
