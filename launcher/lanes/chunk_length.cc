// Chunk lengths under a checkpoint budget (see chunk_length.h).
#include "launcher/lanes/chunk_length.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"

namespace kachi::lanes {

absl::Status ValidateChunkBudget(const ChunkBudget& budget) {
  if (budget.default_steps < 1 || budget.min_steps < 1 || !(budget.checkpoint_budget >= 0) ||
      !(budget.checkpoint_budget < 1)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "chunk length: default ", budget.default_steps, " steps, min ", budget.min_steps, " steps, checkpoint budget ",
        budget.checkpoint_budget, "; expected steps >= 1 and a budget in [0, 1) (0 = fixed chunks)"));
  }
  return absl::OkStatus();
}

int64_t BudgetChunkSteps(const ChunkBudget& budget, const std::optional<ChunkTiming>& measured) {
  const int64_t fixed = std::max<int64_t>(1, budget.default_steps);
  if (budget.checkpoint_budget <= 0 || !measured.has_value() || !(measured->step_s > 0)) return fixed;
  const double b = budget.checkpoint_budget;
  const double wanted = std::max(0.0, measured->checkpoint_s) * (1 - b) / (b * measured->step_s);
  // Capped far above any schedule so the conversion stays defined (the target caps it anyway).
  const double steps = std::ceil(std::min(wanted - 1e-9, 1e15));
  return std::max<int64_t>({1, budget.min_steps, static_cast<int64_t>(steps)});
}

int64_t NextChunkSteps(const ChunkBudget& budget, const std::optional<ChunkTiming>& measured, int64_t from_step,
                       int64_t target_step) {
  const int64_t left = target_step - from_step;
  if (left <= 0) return 0;
  const int64_t steps = BudgetChunkSteps(budget, measured);
  if (budget.checkpoint_budget <= 0) return std::min(steps, left);
  const int64_t chunks = std::max<int64_t>(1, left / steps);
  return (left + chunks - 1) / chunks;
}

void ChunkMeasurements::Record(int lane, int cards, int64_t steps, double train_s, double checkpoint_s) {
  if (lane < 0 || steps <= 0 || !(train_s > 0)) return;
  if (lane >= static_cast<int>(by_lane_.size())) by_lane_.resize(lane + 1);
  const ChunkTiming timing{train_s / static_cast<double>(steps), std::max(0.0, checkpoint_s)};
  for (auto& [width, measured] : by_lane_[lane]) {
    if (width == cards) {
      measured = timing;
      return;
    }
  }
  by_lane_[lane].emplace_back(cards, timing);
}

std::optional<ChunkTiming> ChunkMeasurements::At(int lane, int cards) const {
  if (lane < 0 || lane >= static_cast<int>(by_lane_.size())) return std::nullopt;
  for (const auto& [width, measured] : by_lane_[lane]) {
    if (width == cards) return measured;
  }
  return std::nullopt;
}

}  // namespace kachi::lanes
