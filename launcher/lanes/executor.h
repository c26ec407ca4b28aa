// The lane executor: runs the lanes of a lanes file for real on the job's ranks (one rank = one card). Every rank
// runs the same policy; each round, Decide() assigns cards, the world is carved into one grid per lane holding
// cards (idle ranks take part in the carve and wait), each lane trains a chunk of steps toward its next rung from
// its checkpoint (restored at the lane's current width, so widening and shrinking go through the reshardable
// checkpoints), saves a checkpoint in its own directory and reports; the reports reach every rank (broadcast from
// each lane's first card) and are fed to every rank's policy in the same order, so the policies never diverge.
// Rank 0 journals every decision and report (atomic rewrite after each round) and prints a live table.
//
// Test hook: KACHI_LANES_TEST_EXIT_AFTER_ROUND=K makes every rank exit (status 3) right after round K's journal is
// written, as a killed job would; `--resume` then continues from the journal.
#ifndef KACHI_LAUNCHER_LANES_EXECUTOR_H_
#define KACHI_LAUNCHER_LANES_EXECUTOR_H_

#include <cstdint>
#include <ostream>
#include <string>

#include "absl/status/statusor.h"
#include "comm/communicator.h"
#include "runtime/proto/lanes.pb.h"

namespace kachi::lanes {

// How to run the lanes.
struct ExecutorOptions {
  // The run directory: the journal and one checkpoint directory per lane ("lane<index>").
  std::string dir;
  // Continue from the journal in `dir` (a fresh run when it holds none).
  bool resume = false;
  // Steps a lane trains per round at most (it also stops at its next rung); 0 = policy.min_steps.
  int64_t chunk_steps = 0;
  // The CUDA device bound to this rank (-1: none); lanes whose config asks for train.kernels = "cuda" need one.
  int device = -1;
  // Rank 0's live table and summary (may be null).
  std::ostream* log = nullptr;
};

// What a completed run found (the same on every rank).
struct ExecutorSummary {
  // The chosen lane (lowest final loss among the finished ones), -1 when none finished.
  int best_lane = -1;
  // Its name and final loss (empty and NaN when none finished).
  std::string best_lane_name;
  double best_loss = 0;
  // Card-time held by lanes over total card-time, from the journal.
  double utilization = 0;
  // Rounds run in total (including those before a resume).
  int rounds = 0;
};

// Collective over `world` (its ranks are the cards 0..pool.cards-1; extra ranks stay idle): runs the lanes of
// `file` to the end. Errors that every rank sees (a bad lanes file, a journal that does not match it, a failed
// carve) end the run; a lane's own failure only stops that lane.
absl::StatusOr<ExecutorSummary> RunLanes(const config::LanesFile& file, Communicator& world,
                                         const ExecutorOptions& options);

}  // namespace kachi::lanes

#endif  // KACHI_LAUNCHER_LANES_EXECUTOR_H_
