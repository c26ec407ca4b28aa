// The lane simulator: drives LanePolicy (the same code the real executor drives) with simulated lanes whose
// losses come from LearningCurve, whose steps take longer or shorter with their data-parallel width (sub-linear,
// Amdahl, plus a ring all-reduce that grows with the width), and whose checkpoints and restores cost time on their
// cards. Event-driven, so 1000 lanes on 256 cards take well under a second.
#ifndef KACHI_LAUNCHER_LANES_SIMULATOR_H_
#define KACHI_LAUNCHER_LANES_SIMULATOR_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "launcher/lanes/curves.h"
#include "launcher/lanes/decision.h"
#include "launcher/lanes/policy_types.h"

namespace kachi::lanes {

// Simulated time costs.
struct SimTiming {
  // Seconds per optimizer step on one data-parallel replica.
  double step_time_s = 1.0;
  // Amdahl serial fraction: at width w a step takes step_time_s * (f + (1 - f) / w).
  double serial_fraction = 0.05;
  // Seconds to write a checkpoint (at every rung, at the end, before a resize), cards held.
  double checkpoint_s = 10;
  // Seconds to restore a checkpoint (on resume, after a resize), cards held.
  double restore_s = 10;
  // Gradient all-reduce at width w > 1 (alpha-beta ring model): 2 (w - 1) alpha + 2 (w - 1) / w beta.
  double allreduce_alpha_s = 0.0001;
  double allreduce_beta_s = 0.02;
  // Steps per chunk, as the real executor runs lanes (0: no chunks). Each chunk ends with a checkpoint
  // (checkpoint_s, the trainer kept when the cards stay), and a widening or shrinking takes effect at the lane's next
  // chunk boundary: until then it trains at its old width while the cards given to it idle, then it checkpoints
  // and restores at the new width.
  int64_t chunk_steps = 0;
  // With chunks: fraction of a chunk's wall time its checkpoint may take (launcher/lanes/chunk_length.h, the same
  // rule as the executor's, fed with this timing: a lane's first chunk at a width is chunk_steps long, then each
  // chunk is long enough that checkpoint_s <= budget x its time); 0 = fixed chunks of chunk_steps.
  double checkpoint_budget = 0;
  // With a budget: the fewest steps of a chunk (unless its target is nearer); 0 = chunk_steps.
  int64_t min_chunk_steps = 0;
  // Experiment, not in the executor: a chunk's end (or target) also reports the lane's loss every this many steps
  // inside the chunk (points for predict_final / predict_cut, not checkpoints); 0 = only the chunk's end.
  int64_t loss_sample_steps = 0;
};

// Seconds per step at data-parallel width `width`: step_time_s * (f + (1 - f) / w) plus the all-reduce term.
double StepSeconds(const SimTiming& timing, int width);

// What to simulate. `curves[i]` is lane i's curve (not owned; must outlive the call).
struct SimulationInput {
  PoolShape pool;
  PolicyOptions options;
  std::vector<LaneSpec> lanes;
  std::vector<const LearningCurve*> curves;
  SimTiming timing;
  // Keep every decision in the result.
  bool keep_decisions = false;
  // Keep every chunk (with chunks) in the result.
  bool keep_chunks = false;
};

// One simulated chunk that ended with its checkpoint (a chunk end before the lane's target, or its target).
struct SimChunk {
  int lane = 0;
  int cards = 0;
  int64_t from_step = 0, to_step = 0;
  double train_s = 0;       // its steps' time
  double checkpoint_s = 0;  // its checkpoint's time
};

// What happened.
struct SimulationResult {
  // The finished lane with the lowest final loss (nullopt when none finished) and that loss.
  std::optional<int> best_lane;
  double best_loss = 0;
  // When the best lane finished.
  double best_finished_s = 0;
  // When the last lane finished, stopped or was paused for good.
  double makespan_s = 0;
  // Card-seconds the lanes held cards (training, checkpointing, restoring).
  double held_card_s = 0;
  // Cards of the pool.
  int cards = 0;
  // Seconds lanes waited for cards while runnable: mean over lanes, and the longest single lane's total.
  double mean_queue_s = 0;
  double max_queue_s = 0;
  // Decision counts. `widens` also counts starts at more than the lane's minimum width (a widening decided in the
  // round the lane starts, which the decision log shows as a wider kStart).
  int starts = 0, promotions = 0, pauses = 0, widens = 0, shrinks = 0, stops = 0, finishes = 0;
  // Pauses of running lanes between rungs (predict_cut), also counted in `pauses`.
  int cuts = 0;
  // Chunks run (with chunks), and their card-seconds checkpointing and training (the checkpoint share of the
  // chunks' time is chunk_checkpoint_card_s / (chunk_checkpoint_card_s + chunk_train_card_s)).
  int chunks = 0;
  double chunk_checkpoint_card_s = 0;
  double chunk_train_card_s = 0;
  // Lanes left paused at the end.
  int paused_at_end = 0;
  // Every decision, when asked for.
  std::vector<Decision> decisions;
  // Every chunk, when asked for (SimulationInput::keep_chunks).
  std::vector<SimChunk> chunk_log;

  // GPU-hours of the pool over the whole run (cards x makespan): what the job costs.
  double PoolGpuHours() const { return cards * makespan_s / 3600.0; }
  // GPU-hours of the pool until the best lane finished.
  double GpuHoursToBest() const { return cards * best_finished_s / 3600.0; }
  // Held card-time over pool card-time.
  double Utilization() const { return makespan_s > 0 ? held_card_s / (cards * makespan_s) : 0; }
};

// Runs the policy on the simulated lanes until it is done. Errors: invalid inputs, a curve missing, a policy that
// leaves runnable lanes with nothing running (a stall).
absl::StatusOr<SimulationResult> Simulate(const SimulationInput& input);

}  // namespace kachi::lanes

#endif  // KACHI_LAUNCHER_LANES_SIMULATOR_H_
