// The lane executor (see executor.h): lanes and policy set-up, journal checks and replay on --resume, then the
// coordinator thread on rank 0 and the worker loop on every rank.
#include "launcher/lanes/executor.h"

#include <mpi.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "comm/control_channel.h"
#include "comm/host_placement.h"
#include "comm/mpi_communicator.h"
#include "kernels/base/status_macros.h"
#include "launcher/lanes/chunk_runner.h"
#include "launcher/lanes/coordinator.h"
#include "launcher/lanes/journal.h"
#include "launcher/lanes/journal_repool.h"
#include "launcher/lanes/lane_expansion.h"
#include "launcher/lanes/lane_messages.h"
#include "launcher/lanes/lanes_file.h"
#include "launcher/lanes/policy.h"
#include "launcher/lanes/pool_topology.h"
#include "launcher/lanes/report.h"
#include "launcher/lanes/worker.h"
#include "runtime/ckpt/checkpoint_paths.h"

namespace kachi::lanes {
namespace {

namespace fs = std::filesystem;

// The summary of a journal and the policy it left.
ExecutorSummary Summarize(const config::LanesJournal& journal, const LanePolicy& policy,
                          const std::vector<LaneRuntime>& lanes) {
  ExecutorSummary summary;
  summary.best_lane = journal.best_lane();
  summary.best_loss = std::nan("");
  if (summary.best_lane >= 0) {
    summary.best_lane_name = lanes[summary.best_lane].definition.name;
    summary.best_loss = policy.status(summary.best_lane).final_loss;
  }
  summary.utilization = JournalUtilization(journal);
  summary.events = journal.events_size();
  summary.seconds = JournalSeconds(journal);
  return summary;
}

// The exit hook's event, or -1.
int ExitAfterEvent() {
  const char* value = std::getenv("KACHI_LANES_TEST_EXIT_AFTER_EVENT");
  int event = -1;
  if (value == nullptr || !absl::SimpleAtoi(value, &event)) return -1;
  return event;
}

// The slow-lane hook KACHI_LANES_TEST_SLOW_LANE=NAME:MS into options (unknown names: an error).
absl::Status ApplySlowLaneHook(const std::vector<LaneRuntime>& lanes, ChunkRunnerOptions* options) {
  const char* value = std::getenv("KACHI_LANES_TEST_SLOW_LANE");
  if (value == nullptr || *value == '\0') return absl::OkStatus();
  std::vector<std::string> parts = absl::StrSplit(value, ':');
  int ms = 0;
  if (parts.size() != 2 || !absl::SimpleAtoi(parts[1], &ms) || ms < 0) {
    return absl::InvalidArgumentError(absl::StrCat("KACHI_LANES_TEST_SLOW_LANE='", value, "': expected NAME:MS"));
  }
  for (size_t i = 0; i < lanes.size(); ++i) {
    if (lanes[i].definition.name == parts[0]) {
      options->slow_lane = static_cast<int>(i);
      options->slow_ms = ms;
      return absl::OkStatus();
    }
  }
  return absl::InvalidArgumentError(absl::StrCat("KACHI_LANES_TEST_SLOW_LANE: no lane named '", parts[0], "'"));
}

}  // namespace

absl::StatusOr<ExecutorSummary> RunLanes(const config::LanesFile& file, Communicator& world,
                                         const ExecutorOptions& options) {
  const bool leader = world.rank() == kCoordinatorRank;
  std::ostream* log = leader ? options.log : nullptr;
  const MPI_Comm parent = MpiCommOf(world);
  if (parent == MPI_COMM_NULL) return absl::InvalidArgumentError("kachi lanes: the world must be an MPI communicator");
  absl::StatusOr<std::vector<LaneDefinition>> definitions = ExpandLanes(file);
  if (!definitions.ok()) return definitions.status();
  // The pool's nodes from the hosts the ranks run on (pool.cards_per_node = 0; launcher/lanes/pool_topology.h).
  absl::StatusOr<std::vector<std::string>> hosts = GatherHosts(world, options.host);
  if (!hosts.ok()) return hosts.status();
  absl::StatusOr<PoolShape> placed = PoolOnHosts(PoolFromFile(file, world.size()), *hosts);
  if (!placed.ok()) return placed.status();
  const PoolShape pool = *placed;
  if (pool.cards > world.size()) {
    return absl::InvalidArgumentError(absl::StrCat("pool.cards is ", pool.cards, " but the job has only ",
                                                   world.size(), " ranks"));
  }
  const PolicyOptions policy_options = PolicyOptionsFromFile(file);
  std::vector<LaneRuntime> lanes;
  std::vector<LaneSpec> specs;
  for (size_t i = 0; i < definitions->size(); ++i) {
    LaneRuntime lane;
    lane.definition = (*definitions)[i];
    absl::StatusOr<config::KachiConfig> config = EffectiveConfig(file, lane.definition);
    if (!config.ok()) return config.status();
    lane.config = *std::move(config);
    absl::StatusOr<LaneSpec> spec = SpecForLane(file, lane.definition);
    if (!spec.ok()) return spec.status();
    lane.spec = *spec;
    lane.checkpoint_dir = (fs::path(options.dir) / absl::StrCat("lane", i)).string();
    specs.push_back(*spec);
    lanes.push_back(std::move(lane));
  }
  ChunkRunnerOptions runner_options;
  runner_options.parent = parent;
  runner_options.cards_per_node = pool.CardsPerNode();
  runner_options.host = options.host;
  runner_options.max_steps = policy_options.max_steps;
  runner_options.device = options.device;
  runner_options.deadline = world.options().deadline;
  KACHI_RETURN_IF_ERROR(ApplySlowLaneHook(lanes, &runner_options));
  absl::StatusOr<LanePolicy> created = LanePolicy::Create(pool, policy_options, specs);
  if (!created.ok()) return created.status();
  LanePolicy& policy = *created;
  const std::string journal_path = (fs::path(options.dir) / kJournalFileName).string();
  std::vector<int64_t> checkpoint_steps(lanes.size(), 0);

  config::LanesJournal journal;
  absl::StatusOr<config::LanesJournal> previous = ReadJournal(journal_path);
  if (options.resume && previous.ok()) {
    journal = *std::move(previous);
    if (journal.lane_names_size() != static_cast<int>(lanes.size())) {
      return absl::FailedPreconditionError(absl::StrCat(
          "--resume: the journal ", journal_path, " has ", journal.lane_names_size(), " lanes on ", journal.cards(),
          " cards; the lanes file now gives ", lanes.size(), " lanes on ", pool.cards, " cards"));
    }
    for (size_t i = 0; i < lanes.size(); ++i) {
      if (journal.lane_names(static_cast<int>(i)) != lanes[i].definition.name) {
        return absl::FailedPreconditionError(absl::StrCat("--resume: lane ", i, " is '",
                                                          journal.lane_names(static_cast<int>(i)),
                                                          "' in the journal but '", lanes[i].definition.name,
                                                          "' in the lanes file"));
      }
    }
    if (journal.events_size() == 0 && !journal.complete()) {
      return absl::FailedPreconditionError(absl::StrCat("--resume: the journal ", journal_path,
                                                        " holds no events (a journal of the synchronous executor?)"));
    }
    // On another pool (the hosts left after a host loss) the policy moves onto it: journal_repool.h.
    absl::StatusOr<LanePolicy> replayed = ReplayJournalOnPool(&journal, pool, policy_options, specs, log);
    if (!replayed.ok()) return replayed.status();
    policy = *std::move(replayed);
    if (journal.complete()) {
      if (log) *log << "kachi lanes: the journal " << journal_path << " is complete already; nothing to resume\n";
      return Summarize(journal, policy, lanes);
    }
    for (const config::LanesJournalEvent& event : journal.events()) {
      for (const config::LanesJournalReport& report : event.reports()) {
        checkpoint_steps[report.lane()] = report.checkpoint_step();
      }
    }
    // Checkpoints written after the journal's last event (chunks in flight at the crash) are discarded.
    KACHI_RETURN_IF_ERROR(world.Barrier());
    if (leader) {
      for (size_t i = 0; i < lanes.size(); ++i) {
        for (int64_t step : ckpt::ListStepDirs(lanes[i].checkpoint_dir)) {
          if (step > checkpoint_steps[i]) fs::remove_all(ckpt::StepDirPath(lanes[i].checkpoint_dir, step));
        }
      }
      if (log) {
        *log << "kachi lanes: resumed after event " << journal.events_size() - 1 << " ("
             << JournalSeconds(journal) << " s) of " << journal_path << "\n";
      }
    }
  } else {
    if (options.resume && !absl::IsNotFound(previous.status())) return previous.status();
    if (!options.resume && previous.ok()) {
      return absl::AlreadyExistsError(absl::StrCat("a lanes journal exists at ", journal_path,
                                                   ": continue it with --resume or choose another directory"));
    }
    for (const LaneRuntime& lane : lanes) {  // a fresh run must not restore another run's checkpoints
      if (!ckpt::ListStepDirs(lane.checkpoint_dir).empty()) {
        return absl::AlreadyExistsError(absl::StrCat(lane.checkpoint_dir, " holds checkpoints but ", journal_path,
                                                     " no journal: choose an empty directory"));
      }
    }
    if (leader) {
      std::error_code error;
      fs::create_directories(options.dir, error);
    }
    for (const LaneRuntime& lane : lanes) journal.add_lane_names(lane.definition.name);
    journal.set_cards(pool.cards);
  }
  KACHI_RETURN_IF_ERROR(world.Barrier());

  const absl::Duration deadline = world.options().deadline;
  absl::StatusOr<std::unique_ptr<ControlChannel>> channel = ControlChannel::Create(parent, "lanes", deadline);
  if (!channel.ok()) return channel.status();
  ChunkRunner runner(runner_options, &lanes);
  std::thread coordinator_thread;
  if (leader) {
    CoordinatorOptions coordinator_options;
    coordinator_options.journal_path = journal_path;
    coordinator_options.chunk_steps = options.chunk_steps > 0 ? options.chunk_steps : policy_options.min_steps;
    coordinator_options.log = log;
    coordinator_options.heartbeat = deadline / 4;
    coordinator_options.silence_limit = deadline * 4;
    coordinator_options.exit_after_event = ExitAfterEvent();
    coordinator_thread = std::thread([&, coordinator_options, checkpoint_steps] {
      Coordinator coordinator(&policy, &journal, &lanes, checkpoint_steps, channel->get(), coordinator_options);
      absl::Status status = coordinator.Run();
      if (!status.ok()) {
        // The workers may be inside chunks: only ending the job frees them.
        std::cerr << "kachi lanes: coordinator: " << status.message() << "\n" << std::flush;
        MPI_Abort(MPI_COMM_WORLD, 1);
      }
    });
  }
  absl::Status worker = RunWorker(**channel, runner, deadline);
  runner.Drop();
  if (leader && !worker.ok()) {
    // Rank 0's worker lost the coordinator (or could not reach it): the run cannot go on, and the coordinator
    // thread may be waiting for this card's report.
    std::cerr << "kachi lanes: rank 0 worker: " << worker.message() << "\n" << std::flush;
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  if (!leader && !worker.ok() && absl::IsDeadlineExceeded(worker)) EndJobWithoutCoordinator(worker, deadline);
  if (leader) coordinator_thread.join();
  if (!worker.ok()) return worker;
  KACHI_RETURN_IF_ERROR(world.Barrier());
  if (!leader) return ExecutorSummary();
  std::vector<std::string> statuses;
  for (int i = 0; i < policy.lane_count(); ++i) statuses.push_back(LaneStateName(policy.status(i).state));
  const std::string report_path = (fs::path(options.dir) / "lanes_report.html").string();
  absl::Status written =
      WriteLanesReport(ReportDataFromJournal(journal, "kachi lanes: " + options.dir, statuses), report_path);
  if (log) *log << "kachi lanes: report " << (written.ok() ? report_path : std::string(written.message())) << "\n";
  return Summarize(journal, policy, lanes);
}

}  // namespace kachi::lanes
