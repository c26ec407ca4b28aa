// The lane executor: runs the lanes of a lanes file for real on the job's ranks (one rank = one card),
// asynchronously. A coordinator thread on world rank 0 (coordinator.h) owns the policy and the journal; every rank,
// rank 0 included, runs the worker loop (worker.h): it takes a chunk (lane, member cards, from_step -> to_step),
// builds the lane's grid among those members only, trains from the lane's checkpoint (restored at the lane's
// current width, so widening and shrinking go through the reshardable checkpoints) or goes on with the trainer its
// cards kept, saves a checkpoint and reports. The coordinator feeds each report to the policy the moment it
// arrives, journals the event and hands freed cards their next chunk at once: a lane never waits for other lanes.
// Rank 0 prints a live table; messages go over a control channel with deadlines (comm/control_channel.h).
//
// Resume: the journal holds every event (reports with the checkpoint each lane continues from, chunk runs, the
// decisions); `--resume` replays it into the policy, discards checkpoints newer than the journal, and restarts
// every running lane from its last journaled checkpoint.
//
// The run goes in four steps (executor_steps.h): PrepareLanes, OpenJournal (a fresh journal, or ResumeFromJournal),
// RunCoordinatorAndMembers, FinishLanes. Test hooks come through ExecutorOptions::test_hooks (`kachi lanes
// --test_exit_after_event K --test_slow_lane NAME:MS`), never from the environment.
#ifndef KACHI_LAUNCHER_LANES_EXECUTOR_H_
#define KACHI_LAUNCHER_LANES_EXECUTOR_H_

#include <cstdint>
#include <ostream>
#include <string>

#include "absl/status/statusor.h"
#include "comm/communicator.h"
#include "runtime/proto/lanes.pb.h"

namespace kachi::lanes {

// Test-only hooks (flags of `kachi lanes`; tests/lanes, tests/failures): they change how a run behaves to make
// crashes and slow lanes reproducible. Off by default.
struct ExecutorTestHooks {
  // After writing event K's journal rank 0 exits (status 3) as a killed job would (mpirun then ends the other
  // ranks); -1: never.
  int exit_after_event = -1;
  // The lane named `slow_lane` sleeps `slow_ms` milliseconds after each of its steps; empty: none. A name that is
  // no lane of the file is an error before the lanes start.
  std::string slow_lane;
  int slow_ms = 0;
};

// How to run the lanes.
struct ExecutorOptions {
  // The run directory: the journal and one checkpoint directory per lane ("lane<index>").
  std::string dir;
  // Continue from the journal in `dir` (a fresh run when it holds none).
  bool resume = false;
  // Steps a lane trains per chunk at most (it also stops at its next rung); 0 = policy.min_steps.
  int64_t chunk_steps = 0;
  // The CUDA device bound to this rank (-1: none); lanes whose config asks for train.kernels = "cuda" need one.
  int device = -1;
  // This rank's host (discovery's host name): the pool's nodes and the lanes' TP groups follow the real hosts.
  std::string host;
  // Rank 0's live table and summary (may be null).
  std::ostream* log = nullptr;
  // Test-only hooks (off by default).
  ExecutorTestHooks test_hooks;
};

// What a completed run found (meaningful on rank 0, which owns the policy; other ranks get the defaults).
struct ExecutorSummary {
  // The chosen lane (lowest final loss among the finished ones), -1 when none finished.
  int best_lane = -1;
  // Its name and final loss (empty and NaN when none finished).
  std::string best_lane_name;
  double best_loss = 0;
  // Card-seconds held by chunks over cards x makespan, measured (journal.h: JournalUtilization).
  double utilization = 0;
  // Coordinator events in total (including those before a resume), and the makespan in seconds.
  int events = 0;
  double seconds = 0;
};

// Collective over `world` (an MPI communicator; its ranks are the cards 0..pool.cards-1, extra ranks stay idle):
// runs the lanes of `file` to the end. Errors that every rank sees before the lanes start (a bad lanes file, a
// journal that does not match it) end the run on every rank; a lane's own failure only stops that lane; a
// coordinator error (a stuck lane, a journal that cannot be written) ends the job with its message (MPI_Abort).
absl::StatusOr<ExecutorSummary> RunLanes(const config::LanesFile& file, Communicator& world,
                                         const ExecutorOptions& options);

}  // namespace kachi::lanes

#endif  // KACHI_LAUNCHER_LANES_EXECUTOR_H_
