// Warmup + cosine learning-rate schedule (see lr_schedule.h).
#include "runtime/train/lr_schedule.h"

#include <algorithm>
#include <cmath>

namespace kachi {

double LrSchedule::At(int64_t step) const {
  if (step < warmup_steps) return peak_lr * static_cast<double>(step + 1) / static_cast<double>(warmup_steps);
  const double min_lr = peak_lr * min_lr_fraction;
  const int64_t decay_steps = std::max<int64_t>(1, total_steps - warmup_steps - 1);
  const double progress = std::min(1.0, static_cast<double>(step - warmup_steps) / static_cast<double>(decay_steps));
  return min_lr + 0.5 * (1.0 + std::cos(M_PI * progress)) * (peak_lr - min_lr);
}

}  // namespace kachi
