// The calibration probes of `kachi bench scaling`: cheap measurements taken in the same job as the training points
// that the step model may use at every sub-world size, because none of them is a training step of a point:
//   compute probe  the job's first N ranks each train the model alone (no collectives), all at once: what N ranks
//                  sharing the machine(s) cost each other's forward/backward and optimizer (MeasureComputeProbe);
//   link           an all-reduce sweep on the same N ranks, fitted to alpha-beta: the link as N ranks see it
//                  (with more ranks than cores, the scheduling latency of every call is in its alpha).
// The held-out points (more than 2 ranks) are full training steps with collectives; no probe runs one.
#ifndef KACHI_BENCH_SCALING_CALIBRATION_H_
#define KACHI_BENCH_SCALING_CALIBRATION_H_

#include <vector>

#include "bench/scaling/alpha_beta.h"
#include "bench/scaling/scaling_result.h"

namespace kachi {

// The probes of one sub-world size.
struct SubWorldCalibration {
  int ranks = 1;
  MeasuredPoint compute;                // the compute probe: the slowest member's breakdown of the median step
  std::vector<CollectiveSample> sweep;  // all-reduces on the first `ranks` ranks (ranks >= 2)
  AlphaBeta link;                       // fitted on `sweep`
  bool has_link = false;
};

// Every probed size, ascending.
struct ScalingCalibration {
  std::vector<SubWorldCalibration> sizes;
  // The probes of `ranks` ranks, or null.
  const SubWorldCalibration* Find(int ranks) const {
    for (const SubWorldCalibration& s : sizes) {
      if (s.ranks == ranks) return &s;
    }
    return nullptr;
  }
};

}  // namespace kachi

#endif  // KACHI_BENCH_SCALING_CALIBRATION_H_
