// `kachi lanes --simulate [LANES.pbtxt] [--set field=value]...`: runs the lane policy on simulated lanes (synthetic
// or recorded curves) and prints it beside its baselines (equal split, successive halving without widening).
// Running real lanes on the job's ranks (`mpirun -np N kachi lanes LANES.pbtxt`) comes with the lane executor.
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "launcher/commands.h"
#include "launcher/flags.h"
#include "launcher/lanes/baselines.h"
#include "launcher/lanes/lanes_file.h"
#include "launcher/lanes/sim_setup.h"
#include "runtime/config/overrides.h"

namespace kachi {
namespace {

constexpr char kUsage[] =
    "usage: kachi lanes --simulate [LANES.pbtxt] [--set field=value]...\n"
    "  simulates the lanes of LANES.pbtxt (or the default synthetic family: 64 lanes, 16 cards) under the policy\n"
    "  and its baselines; --set edits the lanes file, e.g. --set simulator.synthetic_lanes=1000 --set pool.cards=256\n"
    "  (schema: runtime/proto/lanes.proto; --set simulator.print_decisions=true prints every decision)\n";

// The parsed command line.
struct LanesArgs {
  bool simulate = false;
  std::string file;
  std::vector<std::string> overrides;
};

// Parses `args`, taking the overrides from the common --set flag (main() collects every occurrence, before and
// after the subcommand); returns false (after printing why) on a mistake.
bool ParseArgs(const std::vector<std::string>& args, LanesArgs* out) {
  out->overrides = absl::GetFlag(FLAGS_set);
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--simulate") {
      out->simulate = true;
    } else if (!absl::StartsWith(arg, "-") && out->file.empty()) {
      out->file = arg;
    } else {
      std::fprintf(stderr, "kachi lanes: unexpected argument '%s'\n", arg.c_str());
      return false;
    }
  }
  return true;
}

int Simulate(const LanesArgs& args) {
  config::LanesFile file = lanes::DefaultSimulationFile();
  if (!args.file.empty()) {
    absl::StatusOr<config::LanesFile> loaded = lanes::LoadLanesFile(args.file);
    if (!loaded.ok()) {
      std::fprintf(stderr, "kachi lanes: %s\n", std::string(loaded.status().message()).c_str());
      return 1;
    }
    file = *std::move(loaded);
  }
  if (absl::Status status = ApplyOverrides(args.overrides, &file); !status.ok()) {
    std::fprintf(stderr, "kachi lanes: %s\n", std::string(status.message()).c_str());
    return 2;
  }
  absl::StatusOr<std::unique_ptr<lanes::SimulationSetup>> setup = lanes::BuildSimulation(file);
  if (!setup.ok()) {
    std::fprintf(stderr, "kachi lanes: %s\n", std::string(setup.status().message()).c_str());
    return 1;
  }
  lanes::SimulationInput input = (*setup)->input;
  input.keep_decisions = file.simulator().print_decisions();
  absl::StatusOr<std::vector<lanes::PolicyRun>> runs = lanes::CompareWithBaselines(input);
  if (!runs.ok()) {
    std::fprintf(stderr, "kachi lanes: %s\n", std::string(runs.status().message()).c_str());
    return 1;
  }
  const lanes::PolicyOptions& options = input.options;
  const lanes::SimTiming& timing = input.timing;
  std::cout << absl::StrFormat(
      "# kachi lanes --simulate %s: %s on %d cards (%d per node)\n"
      "# policy: rungs at %d * %d^k below %d steps, widening %s (>= %d steps left); step %.3gs on one replica, "
      "serial fraction %.3g, checkpoint %.3gs, restore %.3gs\n",
      args.file.empty() ? "(default synthetic family)" : args.file, (*setup)->source, input.pool.cards,
      input.pool.CardsPerNode(), options.min_steps, options.eta, options.max_steps, options.widen ? "on" : "off",
      options.widen_min_remaining_steps, timing.step_time_s, timing.serial_fraction, timing.checkpoint_s,
      timing.restore_s);
  if (input.keep_decisions) {
    for (const lanes::Decision& decision : runs->front().result.decisions) {
      std::cout << lanes::DescribeDecision(decision, (*setup)->lane_names[decision.lane]) << "\n";
    }
  }
  std::cout << lanes::FormatComparison(*runs, (*setup)->lane_names);
  for (const lanes::PolicyRun& run : *runs) {
    std::cout << absl::StrFormat("# %s: simulated in %.1f ms\n", run.name, 1e3 * run.wall_s);
  }
  return 0;
}

}  // namespace

int LanesCommand(const std::vector<std::string>& args) {
  LanesArgs parsed;
  if (!ParseArgs(args, &parsed)) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  if (!parsed.simulate) {
    std::fprintf(stderr,
                 "kachi lanes: running lanes on the job's ranks is not available yet (the lane executor is the next "
                 "step of issue 6); `kachi lanes --simulate%s` runs the same policy on simulated lanes\n",
                 parsed.file.empty() ? "" : (" " + parsed.file).c_str());
    std::fputs(kUsage, stderr);
    return 2;
  }
  return Simulate(parsed);
}

}  // namespace kachi
