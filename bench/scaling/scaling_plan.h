// The points `kachi bench scaling` measures: for each sub-world size (1, 2, 4, ... ranks), layout (dp only, tp
// only inside a host, dp x tp) and mode (weak: a fixed micro-batch per data-parallel replica; strong: a fixed
// global batch), the dp and tp widths and the batch. Points a layout cannot take (tp wider than a host or not
// dividing the heads, a global batch not divisible by dp) are left out with the reason.
#ifndef KACHI_BENCH_SCALING_SCALING_PLAN_H_
#define KACHI_BENCH_SCALING_SCALING_PLAN_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "runtime/model/gpt_shape.h"

namespace kachi {

enum class ScalingLayout { kDp, kTp, kDpTp };
enum class ScalingMode { kWeak, kStrong };

// "dp", "tp", "dp_tp" / "weak", "strong"; the parsers take the same names.
absl::string_view ScalingLayoutName(ScalingLayout layout);
absl::string_view ScalingModeName(ScalingMode mode);
absl::StatusOr<ScalingLayout> ParseScalingLayout(absl::string_view name);
absl::StatusOr<ScalingMode> ParseScalingMode(absl::string_view name);

// One measured configuration. The 1-rank point of a mode (layout kDp, dp = tp = 1) is every layout's baseline.
struct ScalingPoint {
  int ranks = 1;
  int dp = 1;
  int tp = 1;
  ScalingLayout layout = ScalingLayout::kDp;
  ScalingMode mode = ScalingMode::kWeak;
  int64_t micro_batch = 1;   // sequences per replica per step (no accumulation)
  int64_t global_batch = 1;  // micro_batch x dp
  // "dp 2 x tp 2 weak".
  std::string Label() const;
};

// What the plan depends on.
struct ScalingPlanInputs {
  int world_size = 1;
  int ranks_per_host = 1;
  GptShape shape;
  std::vector<int> sizes;               // sub-world sizes (empty: DefaultScalingSizes(world_size))
  std::vector<ScalingLayout> layouts;   // empty: all
  std::vector<ScalingMode> modes;       // empty: both
  int64_t micro_batch = 1;              // weak: per replica
  int64_t global_batch = 0;             // strong (0: micro_batch x the largest size)
  int dp_tp_width = 2;                  // tp of the dp_tp layout
};

// 1, 2, 4, ... up to world_size, plus world_size when it is not a power of two.
std::vector<int> DefaultScalingSizes(int world_size);

// The points, ordered by mode, then size, then layout (dp, tp, dp_tp); `skipped` (may be null) receives one line
// per left-out point. Errors when a size is outside [1, world_size] or a batch is not positive.
absl::StatusOr<std::vector<ScalingPoint>> PlanScaling(const ScalingPlanInputs& inputs,
                                                      std::vector<std::string>* skipped);

}  // namespace kachi

#endif  // KACHI_BENCH_SCALING_SCALING_PLAN_H_
