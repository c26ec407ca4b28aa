// How many steps a lane's next chunk trains (issue 18, the checkpoint budget). Every chunk ends with a checkpoint;
// with a budget b the chunk is long enough that its checkpoint takes at most b of the chunk's wall time
// (checkpoint_s <= b * (steps * step_s + checkpoint_s)), from the lane's measured seconds per step and per
// checkpoint at its current width. One code path for the real executor (coordinator.h, from the workers' reports)
// and the simulator (simulator.h, from its timing).
#ifndef KACHI_LAUNCHER_LANES_CHUNK_LENGTH_H_
#define KACHI_LAUNCHER_LANES_CHUNK_LENGTH_H_

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "absl/status/status.h"

namespace kachi::lanes {

// The chunk-length rule.
struct ChunkBudget {
  // Steps of a chunk without a budget (fixed chunks, `kachi lanes --chunk`), and with a budget before the lane has
  // been measured at its width.
  int64_t default_steps = 100;
  // Fraction of a chunk's wall time its checkpoint may take, in [0, 1); 0 = fixed chunks of default_steps.
  double checkpoint_budget = 0;
  // With a budget: a chunk trains at least this many steps (unless its target is nearer).
  int64_t min_steps = 100;
};

// What a lane's chunks cost at one width, as measured.
struct ChunkTiming {
  double step_s = 0;        // seconds per training step
  double checkpoint_s = 0;  // seconds to write the chunk's checkpoint
};

// Errors: default_steps or min_steps < 1, a budget outside [0, 1).
absl::Status ValidateChunkBudget(const ChunkBudget& budget);

// Steps under the budget alone: ceil(checkpoint_s * (1 - b) / (b * step_s)), at least budget.min_steps;
// default_steps without a budget or a measurement. Never below 1.
int64_t BudgetChunkSteps(const ChunkBudget& budget, const std::optional<ChunkTiming>& measured);

// Steps of the next chunk from `from_step` toward the lane's next target (rung or max_steps, which always ends a
// chunk): without a budget min(default_steps, target - from_step), as before; with one, the steps left to the
// target are split into the largest number k of equal chunks (ceil((target - from) / k) steps) that are each at
// least BudgetChunkSteps long (k >= 1), so no short chunk is left before the target. At least 1 when
// target > from_step.
int64_t NextChunkSteps(const ChunkBudget& budget, const std::optional<ChunkTiming>& measured, int64_t from_step,
                       int64_t target_step);

// The newest measurement of each lane's chunks per width (its card count): the executor records the workers'
// reports (and replays them from the journal on --resume), the simulator its own timing.
class ChunkMeasurements {
 public:
  explicit ChunkMeasurements(int lanes = 0) : by_lane_(lanes) {}
  // Records a chunk of `steps` steps that trained in train_s and checkpointed in checkpoint_s on `cards` cards;
  // chunks without steps or with no positive train_s are ignored.
  void Record(int lane, int cards, int64_t steps, double train_s, double checkpoint_s);
  // The newest measurement of `lane` at `cards` cards, if any.
  std::optional<ChunkTiming> At(int lane, int cards) const;

 private:
  std::vector<std::vector<std::pair<int, ChunkTiming>>> by_lane_;
};

}  // namespace kachi::lanes

#endif  // KACHI_LAUNCHER_LANES_CHUNK_LENGTH_H_
