// The steps of the lane executor (executor.h's RunLanes), in the order it runs them, and the state they share:
//   PrepareLanes              the lanes, the pool on the real hosts, the policy and the chunk runner's options;
//   OpenJournal               a fresh journal, or ResumeFromJournal (checks, replay, stale checkpoints discarded);
//   RunCoordinatorAndMembers  the coordinator thread on rank 0 and the worker loop on every rank;
//   FinishLanes               rank 0's report beside the journal and the run's summary.
// Internal to the executor (launcher/lanes/executor*.cc); callers use RunLanes.
#ifndef KACHI_LAUNCHER_LANES_EXECUTOR_STEPS_H_
#define KACHI_LAUNCHER_LANES_EXECUTOR_STEPS_H_

#include <mpi.h>

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "comm/communicator.h"
#include "launcher/lanes/chunk_runner.h"
#include "launcher/lanes/executor.h"
#include "launcher/lanes/policy.h"
#include "launcher/lanes/policy_types.h"
#include "runtime/proto/lanes.pb.h"

namespace kachi::lanes {

// What the steps of one run share. The coordinator and the chunk runner keep pointers into it: it must not move
// once RunCoordinatorAndMembers starts.
struct LanesRun {
  // This rank is the coordinator's (world rank kCoordinatorRank).
  bool leader = false;
  // The leader's live table and summary (null on the other ranks).
  std::ostream* log = nullptr;
  // The world's MPI communicator (member grids and the control channel are made from it).
  MPI_Comm parent = MPI_COMM_NULL;
  // The card pool, placed on the hosts the ranks run on.
  PoolShape pool;
  PolicyOptions policy_options;
  // The lanes of the file, in order, and what the policy knows of each.
  std::vector<LaneRuntime> lanes;
  std::vector<LaneSpec> specs;
  // How this rank runs chunks (test hooks resolved).
  ChunkRunnerOptions runner_options;
  // The policy: fresh from PrepareLanes, replayed by ResumeFromJournal.
  std::optional<LanePolicy> policy;
  // The journal and its path ("<dir>/" kJournalFileName).
  std::string journal_path;
  config::LanesJournal journal;
  // Each lane's newest journaled checkpoint step (0: none).
  std::vector<int64_t> checkpoint_steps;
  // Chunk lengths (the lanes file's `chunks`: checkpoint budget).
  config::LaneChunkConfig chunks;
};

// Step 1: expands the lanes of `file`, places the pool on the ranks' hosts (collective over `world`), builds every
// lane's config and spec, the chunk runner's options and the fresh policy into `run`. InvalidArgument for a pool
// larger than the job, a world that is not MPI, or a test hook naming no lane.
absl::Status PrepareLanes(const config::LanesFile& file, Communicator& world, const ExecutorOptions& options,
                          LanesRun* run);

// How the journal was opened.
enum class JournalStart {
  // No journal before (or no --resume): a new one, the run directory created.
  kFresh,
  // --resume: the journal replayed into the policy; the run goes on from it.
  kResumed,
  // --resume of a journal marked complete: nothing is left to run.
  kComplete,
};

// Step 2 (collective over `world`): continues the journal in options.dir with options.resume (ResumeFromJournal),
// else starts a fresh one (an error when a journal or checkpoints are there already). Ends with a barrier unless
// the journal is complete (every rank reads it and sees that alike).
absl::StatusOr<JournalStart> OpenJournal(Communicator& world, const ExecutorOptions& options, LanesRun* run);

// Step 2 on --resume: checks `journal` against the lanes (FailedPrecondition on a mismatch), replays it into the
// policy (onto the current pool), and unless it is complete discards the checkpoints written after its last event
// (collective over `world`). Returns kComplete or kResumed.
absl::StatusOr<JournalStart> ResumeFromJournal(Communicator& world, config::LanesJournal journal, LanesRun* run);

// Step 3 (collective over `world`): the coordinator thread on the leader and the worker loop on every rank, until
// the coordinator stops the workers; then a barrier. A coordinator error, or the leader's worker losing it, ends
// the job (MPI_Abort); a worker's deadline on another rank ends it without the coordinator.
absl::Status RunCoordinatorAndMembers(Communicator& world, const ExecutorOptions& options, LanesRun* run);

// Step 4: on the leader, writes the lanes report beside the journal (its outcome on the log) and returns the
// summary; the other ranks get the defaults.
ExecutorSummary FinishLanes(const ExecutorOptions& options, const LanesRun& run);

// The summary of the run's journal and policy (used by FinishLanes, and for a journal complete already).
ExecutorSummary SummarizeLanes(const LanesRun& run);

}  // namespace kachi::lanes

#endif  // KACHI_LAUNCHER_LANES_EXECUTOR_STEPS_H_
