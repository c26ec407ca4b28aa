// Step 2 of the lane executor (executor_steps.h): a fresh journal, or --resume of the one in the run directory
// (checked against the lanes, replayed into the policy, the checkpoints newer than it discarded).
#include <filesystem>
#include <string>
#include <system_error>
#include <utility>

#include "absl/strings/str_cat.h"
#include "kernels/base/status_macros.h"
#include "launcher/lanes/executor_steps.h"
#include "launcher/lanes/journal.h"
#include "launcher/lanes/journal_repool.h"
#include "runtime/ckpt/checkpoint_paths.h"

namespace kachi::lanes {
namespace {

namespace fs = std::filesystem;

// FailedPrecondition unless `journal` holds the lanes of `run` (names, in order) and at least one event.
absl::Status CheckJournalMatchesLanes(const config::LanesJournal& journal, const LanesRun& run) {
  if (journal.lane_names_size() != static_cast<int>(run.lanes.size())) {
    return absl::FailedPreconditionError(absl::StrCat(
        "--resume: the journal ", run.journal_path, " has ", journal.lane_names_size(), " lanes on ", journal.cards(),
        " cards; the lanes file now gives ", run.lanes.size(), " lanes on ", run.pool.cards, " cards"));
  }
  for (size_t i = 0; i < run.lanes.size(); ++i) {
    if (journal.lane_names(static_cast<int>(i)) != run.lanes[i].definition.name) {
      return absl::FailedPreconditionError(
          absl::StrCat("--resume: lane ", i, " is '", journal.lane_names(static_cast<int>(i)), "' in the journal but '",
                       run.lanes[i].definition.name, "' in the lanes file"));
    }
  }
  if (journal.events_size() == 0 && !journal.complete()) {
    return absl::FailedPreconditionError(absl::StrCat("--resume: the journal ", run.journal_path,
                                                      " holds no events (a journal of the synchronous executor?)"));
  }
  return absl::OkStatus();
}

// Collective over `world`: each lane's newest journaled checkpoint into run->checkpoint_steps; the leader removes
// the checkpoints written after the journal's last event (chunks in flight at the crash) and logs the resume.
absl::Status DiscardCheckpointsAfterJournal(Communicator& world, LanesRun* run) {
  for (const config::LanesJournalEvent& event : run->journal.events()) {
    for (const config::LanesJournalReport& report : event.reports()) {
      run->checkpoint_steps[report.lane()] = report.checkpoint_step();
    }
  }
  KACHI_RETURN_IF_ERROR(world.Barrier());
  if (!run->leader) return absl::OkStatus();
  for (size_t i = 0; i < run->lanes.size(); ++i) {
    const std::string& dir = run->lanes[i].checkpoint_dir;
    for (int64_t step : ckpt::ListStepDirs(dir)) {
      if (step > run->checkpoint_steps[i]) fs::remove_all(ckpt::StepDirPath(dir, step));
    }
  }
  if (run->log) {
    *run->log << "kachi lanes: resumed after event " << run->journal.events_size() - 1 << " ("
              << JournalSeconds(run->journal) << " s) of " << run->journal_path << "\n";
  }
  return absl::OkStatus();
}

// A new journal for the lanes of `run`. AlreadyExists when the directory holds a journal (`previous` read OK) or
// any lane's checkpoints (a fresh run must not restore another run's); the leader creates the directory.
absl::Status StartFreshJournal(const ExecutorOptions& options, const absl::Status& previous, LanesRun* run) {
  if (options.resume && !absl::IsNotFound(previous)) return previous;
  if (!options.resume && previous.ok()) {
    return absl::AlreadyExistsError(absl::StrCat("a lanes journal exists at ", run->journal_path,
                                                 ": continue it with --resume or choose another directory"));
  }
  for (const LaneRuntime& lane : run->lanes) {
    if (!ckpt::ListStepDirs(lane.checkpoint_dir).empty()) {
      return absl::AlreadyExistsError(absl::StrCat(lane.checkpoint_dir, " holds checkpoints but ", run->journal_path,
                                                   " no journal: choose an empty directory"));
    }
  }
  if (run->leader) {
    std::error_code error;
    fs::create_directories(options.dir, error);
  }
  for (const LaneRuntime& lane : run->lanes) run->journal.add_lane_names(lane.definition.name);
  run->journal.set_cards(run->pool.cards);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<JournalStart> ResumeFromJournal(Communicator& world, config::LanesJournal journal, LanesRun* run) {
  KACHI_RETURN_IF_ERROR(CheckJournalMatchesLanes(journal, *run));
  run->journal = std::move(journal);
  // On another pool (the hosts left after a host loss) the policy moves onto it: journal_repool.h.
  KACHI_ASSIGN_OR_RETURN(run->policy,
                         ReplayJournalOnPool(&run->journal, run->pool, run->policy_options, run->specs, run->log));
  if (run->journal.complete()) {
    if (run->log)
      *run->log << "kachi lanes: the journal " << run->journal_path << " is complete already; nothing to resume\n";
    return JournalStart::kComplete;
  }
  KACHI_RETURN_IF_ERROR(DiscardCheckpointsAfterJournal(world, run));
  return JournalStart::kResumed;
}

absl::StatusOr<JournalStart> OpenJournal(Communicator& world, const ExecutorOptions& options, LanesRun* run) {
  absl::StatusOr<config::LanesJournal> previous = ReadJournal(run->journal_path);
  JournalStart start = JournalStart::kFresh;
  if (options.resume && previous.ok()) {
    KACHI_ASSIGN_OR_RETURN(start, ResumeFromJournal(world, *std::move(previous), run));
    if (start == JournalStart::kComplete) return start;
  } else {
    KACHI_RETURN_IF_ERROR(StartFreshJournal(options, previous.status(), run));
  }
  KACHI_RETURN_IF_ERROR(world.Barrier());
  return start;
}

}  // namespace kachi::lanes
