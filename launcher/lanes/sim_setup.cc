// Building a simulation from a lanes file.
#include "launcher/lanes/sim_setup.h"

#include <map>

#include "absl/strings/str_cat.h"
#include "launcher/lanes/lanes_file.h"

namespace kachi::lanes {
namespace {

SyntheticFamily FamilyFrom(const config::SyntheticCurveFamily& proto) {
  SyntheticFamily family;
  family.a_min = proto.a_min();
  family.a_max = proto.a_max();
  family.b_min = proto.b_min();
  family.b_max = proto.b_max();
  family.c_min = proto.c_min();
  family.c_max = proto.c_max();
  family.noise = proto.noise();
  family.diverge_fraction = proto.diverge_fraction();
  return family;
}

// A lane that has no training config behind it (synthetic or CSV-only): one card wide replicas, the policy's
// default min/max cards, the simulator's batch units.
LaneSpec SimulatedLaneSpec(const config::LanesFile& file, std::string name) {
  LaneSpec spec;
  spec.name = std::move(name);
  spec.min_cards = static_cast<int>(file.policy().min_cards());
  spec.max_cards = static_cast<int>(file.policy().max_cards());
  spec.batch_units = static_cast<int>(file.simulator().synthetic_batch_units());
  return spec;
}

// Matches recorded curves to `setup`'s lanes (or makes the CSV's lanes the lanes when the file lists none).
absl::Status AttachCsvCurves(const config::LanesFile& file, const std::vector<LaneDefinition>& defined,
                             SimulationSetup* setup) {
  absl::StatusOr<std::vector<NamedCurve>> recorded = LoadCurvesCsv(file.simulator().curves_csv());
  if (!recorded.ok()) return recorded.status();
  std::map<std::string, std::unique_ptr<RecordedCurve>> by_name;
  std::vector<std::string> order;
  std::map<std::string, int> units;
  std::map<std::string, int64_t> warmups;
  for (NamedCurve& named : *recorded) {
    order.push_back(named.lane);
    warmups[named.lane] = named.warmup_steps;
    units[named.lane] = named.batch_units > 0 ? named.batch_units
                                              : static_cast<int>(file.simulator().csv_batch_units());
    by_name[named.lane] = std::move(named.curve);
  }
  if (defined.empty()) {
    for (const std::string& name : order) {
      // A CSV lane's batch shape is its recorded one (never the synthetic lanes' 64 units).
      LaneSpec spec = SimulatedLaneSpec(file, name);
      spec.batch_units = units[name];
      // Its warmup (the CSV's warmup_steps column) is its grace, as a lanes file's optimizer.warmup_steps is.
      if (file.policy().warmup_grace()) spec.grace_steps = warmups[name];
      setup->input.lanes.push_back(std::move(spec));
    }
  }
  for (const LaneSpec& lane : setup->input.lanes) {
    auto found = by_name.find(lane.name);
    if (found == by_name.end() || found->second == nullptr) {
      return absl::NotFoundError(absl::StrCat("lane '", lane.name, "' has no curve in ", file.simulator().curves_csv(),
                                              " (its lanes start with '", order.front(), "')"));
    }
    if (absl::Status status = CheckCurveCoversRun(lane.name, *found->second, setup->input.options); !status.ok()) {
      return status;
    }
    setup->curves.push_back(std::move(found->second));
  }
  setup->source = absl::StrCat(setup->input.lanes.size(), " lanes, curves recorded in ",
                               file.simulator().curves_csv());
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckCurveCoversRun(const std::string& lane, const RecordedCurve& curve, const PolicyOptions& options) {
  const int64_t max_steps = options.max_steps;
  const bool diverges = curve.DivergeStep() >= 0 && curve.DivergeStep() <= max_steps;
  if (!diverges && curve.LastStep() < max_steps) {
    return absl::InvalidArgumentError(absl::StrCat("lane '", lane, "': its recorded curve ends at step ",
                                                   curve.LastStep(), "; expected it to reach max_steps ", max_steps));
  }
  // The first report (the first rung, or max_steps without rungs) must lie on the recorded curve.
  const std::vector<int64_t> rungs = RungSteps(options);
  const int64_t first_report = rungs.empty() ? max_steps : rungs.front();
  const bool diverges_first = curve.DivergeStep() >= 0 && curve.DivergeStep() <= first_report;
  if (!diverges_first && (curve.FirstStep() < 0 || curve.FirstStep() > first_report)) {
    return absl::InvalidArgumentError(absl::StrCat("lane '", lane, "': its recorded curve starts at step ",
                                                   curve.FirstStep(), ", after the first rung at step ",
                                                   first_report, "; expected a point at or before it"));
  }
  return absl::OkStatus();
}

config::LanesFile DefaultSimulationFile() {
  config::LanesFile file;
  file.mutable_policy()->set_max_steps(8100);
  file.mutable_pool()->set_cards(file.simulator().cards());
  return file;
}

absl::StatusOr<std::unique_ptr<SimulationSetup>> BuildSimulation(const config::LanesFile& file) {
  auto setup = std::make_unique<SimulationSetup>();
  const config::LaneSimulatorConfig& sim = file.simulator();
  setup->input.pool = PoolFromFile(file, static_cast<int>(sim.cards()));
  setup->input.options = PolicyOptionsFromFile(file);
  setup->input.timing = SimTiming{sim.step_time_s(), sim.serial_fraction(), sim.checkpoint_s(), sim.restore_s(),
                                  sim.allreduce_alpha_s(), sim.allreduce_beta_s(),
                                  sim.chunk_steps() > 0 ? static_cast<int64_t>(sim.chunk_steps())
                                                        : setup->input.options.min_steps,
                                  file.chunks().checkpoint_budget(),
                                  static_cast<int64_t>(file.chunks().min_chunk_steps())};
  absl::StatusOr<std::vector<LaneDefinition>> defined = ExpandLanes(file);
  if (!defined.ok()) return defined.status();
  for (const LaneDefinition& lane : *defined) {
    absl::StatusOr<LaneSpec> spec = SpecForLane(file, lane);
    if (!spec.ok()) return spec.status();
    setup->input.lanes.push_back(*std::move(spec));
  }
  if (!sim.curves_csv().empty()) {
    if (absl::Status status = AttachCsvCurves(file, *defined, setup.get()); !status.ok()) return status;
  } else {
    if (defined->empty()) {
      for (uint32_t i = 0; i < sim.synthetic_lanes(); ++i) {
        setup->input.lanes.push_back(SimulatedLaneSpec(file, absl::StrCat("syn", i)));
      }
    }
    absl::StatusOr<std::vector<std::unique_ptr<LearningCurve>>> curves =
        DrawSyntheticCurves(FamilyFrom(sim.family()), static_cast<int>(setup->input.lanes.size()), sim.seed(),
                            setup->input.options.max_steps);
    if (!curves.ok()) return curves.status();
    setup->curves = *std::move(curves);
    setup->source = absl::StrCat(setup->input.lanes.size(), defined->empty() ? " synthetic lanes" : " lanes",
                                 ", synthetic curves (seed ", sim.seed(), ")");
  }
  for (const auto& curve : setup->curves) setup->input.curves.push_back(curve.get());
  for (const LaneSpec& lane : setup->input.lanes) setup->lane_names.push_back(lane.name);
  return setup;
}

}  // namespace kachi::lanes
