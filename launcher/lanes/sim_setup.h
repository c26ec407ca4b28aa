// From a lanes file to a simulation: the lanes (listed, searched, synthetic or the CSV's), their curves (synthetic
// family or recorded CSV), the pool, the policy and the simulated timing.
#ifndef KACHI_LAUNCHER_LANES_SIM_SETUP_H_
#define KACHI_LAUNCHER_LANES_SIM_SETUP_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "launcher/lanes/curves.h"
#include "launcher/lanes/simulator.h"
#include "runtime/proto/lanes.pb.h"

namespace kachi::lanes {

// A ready-to-run simulation; `input.curves` points into `curves`.
struct SimulationSetup {
  SimulationInput input;
  std::vector<std::unique_ptr<LearningCurve>> curves;
  std::vector<std::string> lane_names;
  // Where the lanes and curves came from, for the report header.
  std::string source;
};

// The file `kachi lanes --simulate` uses when given none: the default synthetic family (64 lanes), 16 cards in
// nodes of 8, rungs at 100 * 3^k below 8100 steps.
config::LanesFile DefaultSimulationFile();

// Whether lane `lane`'s recorded `curve` can drive a simulation under `options`: it reaches max_steps unless it
// diverges by then, and has a point at or before its first report (the first rung; max_steps without rungs) unless
// it diverges by then. Errors name the lane, the step found and the step expected.
absl::Status CheckCurveCoversRun(const std::string& lane, const RecordedCurve& curve, const PolicyOptions& options);

// Lanes: the file's (listed and searched) if any, else the CSV's, else simulator.synthetic_lanes synthetic ones.
// Curves: the CSV's (matched by lane name; each must reach max_steps unless it diverges) or the synthetic family.
// Errors name the lane or the setting at fault.
absl::StatusOr<std::unique_ptr<SimulationSetup>> BuildSimulation(const config::LanesFile& file);

}  // namespace kachi::lanes

#endif  // KACHI_LAUNCHER_LANES_SIM_SETUP_H_
