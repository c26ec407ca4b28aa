// Turns the training sections of a KachiConfig (runtime/proto/train.proto) into TrainOptions for a world of a given
// size, resolving the model preset and the dp x tp layout. Errors name the config field at fault.
#ifndef KACHI_RUNTIME_TRAIN_TRAIN_CONFIG_H_
#define KACHI_RUNTIME_TRAIN_TRAIN_CONFIG_H_

#include <string>

#include "absl/status/statusor.h"
#include "runtime/proto/config.pb.h"
#include "runtime/train/train_options.h"

namespace kachi {

// The data- and tensor-parallel widths of a run.
struct ParallelLayout {
  int dp = 1;
  int tp = 1;
  bool zero1 = false;
};

// The model shape of `model`: its preset with explicit fields applied, vocabulary padded to vocab_multiple and tp.
absl::StatusOr<GptShape> ShapeFromConfig(const config::ModelConfig& model, int tp);

// The layout for `world_size` ranks: tp from the config, dp = world / tp unless given (then it must match).
absl::StatusOr<ParallelLayout> LayoutFromConfig(const config::KachiConfig& config, int world_size);

// TrainOptions for `config` at `layout` (model shape checked against tp; batch against dp).
absl::StatusOr<TrainOptions> TrainOptionsFromConfig(const config::KachiConfig& config, const ParallelLayout& layout);

// The kernels chosen for a run whose train.kernels is unset, and why (for the start line).
struct DefaultKernelsChoice {
  std::string kernels;  // "cuda" or "cpu"
  std::string reason;   // e.g. "no GPU bound"
};

// train.kernels unset: "cuda" when every rank has a GPU bound (`every_rank_has_gpu`, agreed over the job) and the
// CUDA kernels take the model (flash attention: head size 64), else "cpu". A model section that does not resolve
// gives "cpu" (TrainOptionsFromConfig reports the error).
DefaultKernelsChoice DefaultKernels(const config::KachiConfig& config, bool every_rank_has_gpu);

}  // namespace kachi

#endif  // KACHI_RUNTIME_TRAIN_TRAIN_CONFIG_H_
