// ChunkRunner: one card's side of a lane's chunk. Given an order (lane, member cards, from_step -> to_step), it
// builds the lane's grid among the members only (comm/member_grid.h), creates the lane's Trainer and restores its
// checkpoint at this width (or, when told to, goes on with the trainer these very cards kept from the lane's
// previous chunk), trains, evaluates at a rung, saves a checkpoint at to_step, and makes the members agree on
// failure. Used by the lanes worker (worker.h), one per rank. Lane grids use the MPI backend, as kachi train's do
// (the trainer also exchanges host scalars over its grid); CreateMemberGrid can bootstrap NCCL among the members
// for a trainer that takes NCCL grids.
#ifndef KACHI_LAUNCHER_LANES_CHUNK_RUNNER_H_
#define KACHI_LAUNCHER_LANES_CHUNK_RUNNER_H_

#include <mpi.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "comm/process_grid.h"
#include "launcher/lanes/lane_expansion.h"
#include "launcher/lanes/policy_types.h"
#include "runtime/proto/config.pb.h"
#include "runtime/proto/lanes.pb.h"
#include "runtime/train/trainer.h"

namespace kachi::lanes {

// One lane as the executor runs it.
struct LaneRuntime {
  // Its name and overrides.
  LaneDefinition definition;
  // The base config with its overrides applied.
  config::KachiConfig config;
  // What the policy knows of it (tp, widths).
  LaneSpec spec;
  // Its checkpoint directory ("<run dir>/lane<index>").
  std::string checkpoint_dir;
};

// How chunks are run on this rank.
struct ChunkRunnerOptions {
  // The job's ranks (the cards are its ranks 0..cards-1); member grids are created from it.
  MPI_Comm parent = MPI_COMM_NULL;
  // Cards per node (TP groups stay inside one).
  int cards_per_node = 1;
  // This rank's host (discovery): member grids keep TP groups on one host (comm/host_placement.h).
  std::string host;
  // Steps every lane trains at most (the LR schedule spans them, whatever the chunk).
  int64_t max_steps = 0;
  // This rank's CUDA device (-1: none); lanes with train.kernels = "cuda" need one.
  int device = -1;
  // Deadline of the lanes' collectives (and of their grid's creation).
  absl::Duration deadline = absl::Seconds(300);
  // Test hook: milliseconds to sleep after every step of lane `slow_lane` (-1: none).
  int slow_lane = -1;
  int slow_ms = 0;
};

// Failure codes the members agree on (the highest wins).
enum ChunkFailure : int64_t { kNoFailure = 0, kNonFiniteLoss = 1, kLaneError = 2 };

// What a chunk ended with on this card (the same kind, step and failure on every member after agreement; the loss
// is the first member's).
struct ChunkOutcome {
  // TICK, TARGET or FAILURE.
  config::LanesJournalReport::Kind kind = config::LanesJournalReport::TICK;
  // The step reached (or failed at).
  int64_t step = 0;
  // The training loss at `step`, or the validation loss at a target.
  double loss = 0;
  // A ChunkFailure.
  int64_t failure = kNoFailure;
  // Whether the chunk restored a checkpoint (false: it went on with the kept trainer).
  bool restored = false;
  // Seconds this card spent on the chunk, on its training steps, and on its checkpoint (0: none written).
  double work_s = 0;
  double train_s = 0;
  double checkpoint_s = 0;
};

class ChunkRunner {
 public:
  // `lanes` must outlive the runner.
  ChunkRunner(ChunkRunnerOptions options, const std::vector<LaneRuntime>* lanes);
  ~ChunkRunner();

  // Runs `order` (a RUN assignment naming this rank among its cards): every member calls it with the same order.
  // `keep_trainer` in the order asks to go on with this card's kept trainer of the lane (the coordinator sets it
  // only when all members kept it). `alive` is called now and then during long work (the first member tells the
  // coordinator). Errors and non-finite losses end the chunk as a failure (errors printed to stderr).
  ChunkOutcome Run(const config::LanesAssignment& order, const std::function<void()>& alive);

  // Forgets the kept trainer and grid (the card goes to another lane or idles).
  void Drop();

 private:
  // The grid and trainer of the lane this card trained last, kept for its next chunk on the same cards.
  struct Kept;
  ChunkOutcome RunOnKept(const config::LanesAssignment& order, const std::function<void()>& alive,
                         ChunkOutcome outcome);

  ChunkRunnerOptions options_;
  const std::vector<LaneRuntime>* lanes_;
  std::unique_ptr<Kept> kept_;
};

}  // namespace kachi::lanes

#endif  // KACHI_LAUNCHER_LANES_CHUNK_RUNNER_H_
