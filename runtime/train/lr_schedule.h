// Learning-rate schedule: linear warmup, then cosine decay to a floor.
#ifndef KACHI_RUNTIME_TRAIN_LR_SCHEDULE_H_
#define KACHI_RUNTIME_TRAIN_LR_SCHEDULE_H_

#include <cstdint>

namespace kachi {

// Warmup + cosine schedule over `total_steps` optimizer steps.
struct LrSchedule {
  double peak_lr = 6e-4;
  int64_t warmup_steps = 0;
  int64_t total_steps = 1;
  double min_lr_fraction = 0.1;  // floor as a fraction of peak_lr

  // LR of optimizer step `step` (0-based): peak * (step + 1) / warmup during warmup, then cosine from peak to the
  // floor by the last step (held at the floor beyond it).
  double At(int64_t step) const;
};

}  // namespace kachi

#endif  // KACHI_RUNTIME_TRAIN_LR_SCHEDULE_H_
