// `kachi lanes --simulate [LANES.pbtxt] [--set field=value]...`: runs the lane policy on simulated lanes (synthetic
// or recorded curves) and prints it beside its baselines (equal split, successive halving without widening).
// `mpirun -np N kachi lanes LANES.pbtxt [--resume] [--dir DIR]` runs the lanes for real on the job's ranks
// asynchronously (launcher/lanes/executor.h), journaling into DIR (default base.checkpoint.dir, else "kachi_lanes").
// Test-only flags of a real run (lanes::ExecutorTestHooks): --test_exit_after_event K, --test_slow_lane NAME:MS.
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "comm/mpi_communicator.h"
#include "launcher/bootstrap.h"
#include "launcher/commands.h"
#include "launcher/flags.h"
#include "launcher/lanes/baselines.h"
#include "launcher/lanes/executor.h"
#include "launcher/lanes/journal.h"
#include "launcher/lanes/lanes_file.h"
#include "launcher/lanes/report.h"
#include "launcher/lanes/report_from_decisions.h"
#include "launcher/lanes/sim_setup.h"
#include "runtime/config/overrides.h"

namespace kachi {
namespace {

constexpr char kUsage[] =
    "usage: mpirun -np N kachi lanes LANES.pbtxt [--resume] [--dir DIR] [--chunk STEPS] [--checkpoint_budget F]\n"
    "       [--set field=value]...\n"
    "  runs the lanes on the job's ranks, journaling into DIR (default base.checkpoint.dir, else kachi_lanes);\n"
    "  --resume continues from DIR's journal; --chunk: steps per chunk (default policy.min_steps), fixed chunks\n"
    "  unless --checkpoint_budget F (0 <= F < 1; lanes file chunks.checkpoint_budget) is given too: then a lane's\n"
    "  first chunk at a width is that long, later ones long enough that a checkpoint takes at most F of a chunk\n"
    "       kachi lanes --journal DIR   prints the journal of a run directory as text\n"
    "       kachi lanes --simulate [LANES.pbtxt] [--set field=value]...\n"
    "  simulates the lanes of LANES.pbtxt (or the default synthetic family: 64 lanes, 16 cards) under the policy\n"
    "  and its baselines; --set edits the lanes file, e.g. --set simulator.synthetic_lanes=1000 --set pool.cards=256\n"
    "  (schema: runtime/proto/lanes.proto; --set simulator.print_decisions=true prints every decision);\n"
    "  --lanes_report PATH writes the simulated run's report (HTML/SVG: loss curves, card timeline) to PATH\n"
    "  test hooks (tests only, with a real run): --test_exit_after_event K  rank 0 exits (status 3) right after\n"
    "  writing event K's journal, as a killed job would; --test_slow_lane NAME:MS  lane NAME sleeps MS ms after\n"
    "  each of its steps (a NAME that is no lane of the file is an error)\n";

// The parsed command line.
struct LanesArgs {
  bool simulate = false;
  bool resume = false;
  std::string dir;
  int64_t chunk_steps = 0;
  // --checkpoint_budget F (chunks.checkpoint_budget of the lanes file); < 0: not given.
  double checkpoint_budget = -1;
  std::string journal_dir;
  std::string file;
  std::vector<std::string> overrides;
  // --lanes_report PATH (with --simulate): where to write the HTML report of the simulated run; none when empty.
  std::string report_path;
  // Test-only hooks of a real run (--test_exit_after_event, --test_slow_lane).
  lanes::ExecutorTestHooks test_hooks;
};

// True when `args[*i]` is flag `name` ("--name VALUE" or "--name=VALUE"): its value goes into `value` and *i past
// it. A "--name" without a value is no match (it is reported as an unexpected argument).
bool TakeFlag(const std::vector<std::string>& args, size_t* i, const std::string& name, std::string* value) {
  const std::string& arg = args[*i];
  if (arg == name && *i + 1 < args.size()) {
    *value = args[++*i];
    return true;
  }
  if (absl::StartsWith(arg, name + "=")) {
    *value = arg.substr(name.size() + 1);
    return true;
  }
  return false;
}

// --test_slow_lane NAME:MS into `hooks` (the name is checked against the lanes when they start); false (after
// printing why) when the value is not NAME:MS with MS >= 0. The name is what precedes the last ':'.
bool ParseSlowLane(const std::string& value, lanes::ExecutorTestHooks* hooks) {
  const size_t colon = value.rfind(':');
  int ms = 0;
  if (colon == std::string::npos || colon == 0 || !absl::SimpleAtoi(value.substr(colon + 1), &ms) || ms < 0) {
    std::fprintf(stderr, "kachi lanes: --test_slow_lane='%s': expected NAME:MS\n", value.c_str());
    return false;
  }
  hooks->slow_lane = value.substr(0, colon);
  hooks->slow_ms = ms;
  return true;
}

// Parses `args`, taking the overrides from the common --set flag (main() collects every occurrence, before and
// after the subcommand); returns false (after printing why) on a mistake.
bool ParseArgs(const std::vector<std::string>& args, LanesArgs* out) {
  out->overrides = absl::GetFlag(FLAGS_set);
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    std::string value;
    if (TakeFlag(args, &i, "--test_exit_after_event", &value)) {
      if (!absl::SimpleAtoi(value, &out->test_hooks.exit_after_event) || out->test_hooks.exit_after_event < 0) {
        std::fprintf(stderr, "kachi lanes: --test_exit_after_event wants an event index >= 0, got '%s'\n",
                     value.c_str());
        return false;
      }
    } else if (TakeFlag(args, &i, "--checkpoint_budget", &value)) {
      if (!absl::SimpleAtod(value, &out->checkpoint_budget) || !(out->checkpoint_budget >= 0) ||
          !(out->checkpoint_budget < 1)) {
        std::fprintf(stderr, "kachi lanes: --checkpoint_budget wants a fraction in [0, 1), got '%s'\n", value.c_str());
        return false;
      }
    } else if (TakeFlag(args, &i, "--test_slow_lane", &value)) {
      if (!ParseSlowLane(value, &out->test_hooks)) return false;
    } else if (arg == "--simulate") {
      out->simulate = true;
    } else if (arg == "--lanes_report" && i + 1 < args.size()) {
      out->report_path = args[++i];
    } else if (absl::StartsWith(arg, "--lanes_report=")) {
      out->report_path = arg.substr(std::string("--lanes_report=").size());
    } else if (arg == "--resume") {
      out->resume = true;
    } else if (arg == "--journal" && i + 1 < args.size()) {
      out->journal_dir = args[++i];
    } else if ((arg == "--dir" || arg == "--chunk") && i + 1 < args.size()) {
      const std::string& value = args[++i];
      if (arg == "--dir") {
        out->dir = value;
      } else if (!absl::SimpleAtoi(value, &out->chunk_steps) || out->chunk_steps <= 0) {
        std::fprintf(stderr, "kachi lanes: --chunk wants a positive step count, got '%s'\n", value.c_str());
        return false;
      }
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
  const bool print_decisions = file.simulator().print_decisions();
  input.keep_decisions = print_decisions || !args.report_path.empty();
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
      "serial fraction %.3g, checkpoint %.3gs, restore %.3gs%s\n",
      args.file.empty() ? "(default synthetic family)" : args.file, (*setup)->source, input.pool.cards,
      input.pool.CardsPerNode(), options.min_steps, options.eta, options.max_steps, options.widen ? "on" : "off",
      options.widen_min_remaining_steps, timing.step_time_s, timing.serial_fraction, timing.checkpoint_s,
      timing.restore_s,
      timing.chunk_steps <= 0        ? ""
      : timing.checkpoint_budget > 0 ? absl::StrFormat("; chunks under a checkpoint budget of %g (first at a width %d "
                                                       "steps, at least %d)", timing.checkpoint_budget,
                                                       timing.chunk_steps,
                                                       timing.min_chunk_steps > 0 ? timing.min_chunk_steps
                                                                                  : timing.chunk_steps)
                                     : absl::StrFormat("; chunks of %d steps", timing.chunk_steps));
  if (print_decisions) {
    for (const lanes::Decision& decision : runs->front().result.decisions) {
      std::cout << lanes::DescribeDecision(decision, (*setup)->lane_names[decision.lane]) << "\n";
    }
  }
  std::cout << lanes::FormatComparison(*runs, (*setup)->lane_names);
  for (const lanes::PolicyRun& run : *runs) {
    std::cout << absl::StrFormat("# %s: simulated in %.1f ms\n", run.name, 1e3 * run.wall_s);
  }
  if (!args.report_path.empty()) {
    const std::string title = absl::StrCat("kachi lanes --simulate ", args.file.empty() ? "(default)" : args.file, ": ",
                                           runs->front().name, ", ", (*setup)->source);
    absl::Status written =
        lanes::WriteLanesReport(lanes::ReportFromSimulation(title, **setup, runs->front().result), args.report_path);
    if (!written.ok()) {
      std::fprintf(stderr, "kachi lanes: %s\n", std::string(written.message()).c_str());
      return 1;
    }
    std::cout << "# report: " << args.report_path << "\n";
  }
  return 0;
}

// Runs the lanes of args.file on the job's ranks.
int Execute(const LanesArgs& args) {
  absl::StatusOr<config::LanesFile> file = lanes::LoadLanesFile(args.file);
  if (!file.ok()) {
    PrintBootstrapError("kachi lanes", MarkConfigError(file.status()));
    return 1;
  }
  if (absl::Status status = ApplyOverrides(args.overrides, &*file); !status.ok()) {
    PrintBootstrapError("kachi lanes", MarkConfigError(status));
    return 2;
  }
  // --checkpoint_budget F sets the file's budget; --chunk N without it keeps fixed chunks of N.
  if (args.checkpoint_budget >= 0) {
    file->mutable_chunks()->set_checkpoint_budget(args.checkpoint_budget);
  } else if (args.chunk_steps > 0) {
    file->mutable_chunks()->set_checkpoint_budget(0);
  }
  absl::StatusOr<std::unique_ptr<Session>> session = Bootstrap(file->base());
  if (!session.ok()) {
    PrintBootstrapError("kachi lanes", session.status());
    return 1;
  }
  // Lanes build their grids from the world's MPI communicator (among each lane's members) and exchange host
  // scalars: their collectives run over MPI (as kachi train's do).
  std::unique_ptr<Communicator> mpi_world;
  if ((*session)->world_comm->backend() != "mpi") {
    absl::StatusOr<std::unique_ptr<Communicator>> created =
        CreateMpiCommunicator(MPI_COMM_WORLD, (*session)->world_comm->options());
    if (!created.ok()) {
      std::fprintf(stderr, "kachi lanes: %s\n", std::string(created.status().message()).c_str());
      return 1;
    }
    mpi_world = std::move(*created);
  }
  Communicator& world = mpi_world ? *mpi_world : *(*session)->world_comm;
  lanes::ExecutorOptions options;
  options.dir = !args.dir.empty()                          ? args.dir
                : !file->base().checkpoint().dir().empty() ? file->base().checkpoint().dir()
                                                           : "kachi_lanes";
  options.resume = args.resume;
  options.chunk_steps = args.chunk_steps;
  options.device = (*session)->device;
  options.host = (*session)->world.node_name;
  options.log = &std::cout;
  options.test_hooks = args.test_hooks;
  absl::StatusOr<lanes::ExecutorSummary> summary = lanes::RunLanes(*file, world, options);
  if (!summary.ok()) {
    std::fprintf(stderr, "kachi lanes: rank %d: %s\n", world.rank(), std::string(summary.status().message()).c_str());
    return 1;
  }
  if (world.rank() == 0) {
    std::cout << absl::StrFormat(
        "kachi lanes: done after %d events in %.1f s; chosen lane %s (final loss %.4f); "
        "card utilization %.1f%% (journal %s)\n",
        summary->events, summary->seconds, summary->best_lane < 0 ? "(none finished)" : summary->best_lane_name,
        summary->best_loss, 100 * summary->utilization, options.dir);
  }
  // Every lane failed or was stopped: the run chose nothing, which is a failure (the summary lives on rank 0).
  if (world.rank() == 0 && summary->best_lane < 0) {
    std::fputs("kachi lanes: no lane finished; see the journal for each lane's end\n", stderr);
    return 1;
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
  const bool test_hooks = parsed.test_hooks.exit_after_event >= 0 || !parsed.test_hooks.slow_lane.empty();
  if (test_hooks && (parsed.simulate || !parsed.journal_dir.empty())) {
    std::fputs("kachi lanes: --test_exit_after_event and --test_slow_lane go with a real run\n", stderr);
    return 2;
  }
  if ((parsed.simulate || !parsed.journal_dir.empty()) && (parsed.checkpoint_budget >= 0 || parsed.chunk_steps > 0)) {
    std::fputs("kachi lanes: --chunk and --checkpoint_budget go with a real run (simulated: --set "
               "simulator.chunk_steps=N --set chunks.checkpoint_budget=F)\n", stderr);
    return 2;
  }
  if (parsed.simulate) return Simulate(parsed);
  if (!parsed.report_path.empty()) {
    std::fputs("kachi lanes: --lanes_report goes with --simulate (a real run writes its report beside its journal)\n",
               stderr);
    return 2;
  }
  if (!parsed.journal_dir.empty()) {
    absl::StatusOr<config::LanesJournal> journal =
        lanes::ReadJournal(parsed.journal_dir + "/" + lanes::kJournalFileName);
    if (!journal.ok()) {
      std::fprintf(stderr, "kachi lanes: %s\n", std::string(journal.status().message()).c_str());
      return 1;
    }
    std::cout << lanes::FormatJournal(*journal);
    return 0;
  }
  if (parsed.file.empty()) {
    std::fputs("kachi lanes: a lanes file is needed to run lanes (or --simulate)\n", stderr);
    std::fputs(kUsage, stderr);
    return 2;
  }
  return Execute(parsed);
}

}  // namespace kachi
