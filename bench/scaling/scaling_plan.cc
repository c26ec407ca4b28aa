// The measured points of `kachi bench scaling` (see scaling_plan.h).
#include "bench/scaling/scaling_plan.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace kachi {

absl::string_view ScalingLayoutName(ScalingLayout layout) {
  switch (layout) {
    case ScalingLayout::kDp: return "dp";
    case ScalingLayout::kTp: return "tp";
    case ScalingLayout::kDpTp: return "dp_tp";
  }
  return "unknown";
}

absl::string_view ScalingModeName(ScalingMode mode) { return mode == ScalingMode::kWeak ? "weak" : "strong"; }

absl::StatusOr<ScalingLayout> ParseScalingLayout(absl::string_view name) {
  for (ScalingLayout layout : {ScalingLayout::kDp, ScalingLayout::kTp, ScalingLayout::kDpTp}) {
    if (name == ScalingLayoutName(layout)) return layout;
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown layout '", name, "' (expected dp, tp or dp_tp)"));
}

absl::StatusOr<ScalingMode> ParseScalingMode(absl::string_view name) {
  if (name == "weak") return ScalingMode::kWeak;
  if (name == "strong") return ScalingMode::kStrong;
  return absl::InvalidArgumentError(absl::StrCat("unknown mode '", name, "' (expected weak or strong)"));
}

std::string ScalingPoint::Label() const {
  return absl::StrFormat("dp %d x tp %d %s", dp, tp, ScalingModeName(mode));
}

std::vector<int> DefaultScalingSizes(int world_size) {
  std::vector<int> sizes;
  for (int n = 1; n <= world_size; n *= 2) sizes.push_back(n);
  if (sizes.empty() || sizes.back() != world_size) sizes.push_back(world_size);
  return sizes;
}

absl::StatusOr<std::vector<ScalingPoint>> PlanScaling(const ScalingPlanInputs& inputs,
                                                      std::vector<std::string>* skipped) {
  const std::vector<int> sizes = inputs.sizes.empty() ? DefaultScalingSizes(inputs.world_size) : inputs.sizes;
  int largest = 1;
  for (int n : sizes) {
    if (n < 1 || n > inputs.world_size) {
      return absl::InvalidArgumentError(
          absl::StrCat("--bench_scaling ranks: ", n, " is outside [1, ", inputs.world_size, "] (the job's ranks)"));
    }
    largest = std::max(largest, n);
  }
  if (inputs.micro_batch <= 0) {
    return absl::InvalidArgumentError(absl::StrCat("micro-batch ", inputs.micro_batch, " must be positive"));
  }
  const int64_t global = inputs.global_batch > 0 ? inputs.global_batch : inputs.micro_batch * largest;
  const std::vector<ScalingLayout> layouts =
      inputs.layouts.empty() ? std::vector<ScalingLayout>{ScalingLayout::kDp, ScalingLayout::kTp, ScalingLayout::kDpTp}
                             : inputs.layouts;
  const std::vector<ScalingMode> modes =
      inputs.modes.empty() ? std::vector<ScalingMode>{ScalingMode::kWeak, ScalingMode::kStrong} : inputs.modes;
  auto skip = [&](const std::string& line) {
    if (skipped != nullptr) skipped->push_back(line);
  };
  std::vector<ScalingPoint> points;
  for (ScalingMode mode : modes) {
    bool baseline_added = false;
    for (int n : sizes) {
      for (ScalingLayout layout : layouts) {
        ScalingPoint point;
        point.ranks = n;
        point.layout = layout;
        point.mode = mode;
        if (n == 1) {
          // One baseline per mode, shared by every layout.
          if (baseline_added) continue;
          point.layout = ScalingLayout::kDp;
          baseline_added = true;
        } else if (layout == ScalingLayout::kDp) {
          point.dp = n;
        } else if (layout == ScalingLayout::kTp) {
          point.tp = n;
        } else {
          point.tp = inputs.dp_tp_width;
          if (point.tp < 2 || n % point.tp != 0 || n / point.tp < 2) {
            skip(absl::StrFormat("%d ranks, dp_tp: needs tp %d to divide the ranks with dp >= 2", n, point.tp));
            continue;
          }
          point.dp = n / point.tp;
        }
        if (point.tp > inputs.ranks_per_host) {
          skip(absl::StrFormat("%d ranks, %s: tp %d is wider than a host (%d ranks)", n, ScalingLayoutName(layout),
                               point.tp, inputs.ranks_per_host));
          continue;
        }
        if (absl::Status shape = ValidateShape(inputs.shape, point.tp); !shape.ok()) {
          skip(absl::StrFormat("%d ranks, %s: %s", n, ScalingLayoutName(layout), shape.message()));
          continue;
        }
        if (mode == ScalingMode::kWeak) {
          point.micro_batch = inputs.micro_batch;
        } else {
          if (global % point.dp != 0) {
            skip(absl::StrFormat("%d ranks, %s strong: global batch %d is not divisible by dp %d", n,
                                 ScalingLayoutName(layout), global, point.dp));
            continue;
          }
          point.micro_batch = global / point.dp;
        }
        point.global_batch = point.micro_batch * point.dp;
        points.push_back(point);
      }
    }
  }
  return points;
}

}  // namespace kachi
