// Bounds on a run's size fields, checked before anything is allocated: every size of model {} and train {} that is
// set must be positive (counts that may be 0, e.g. train.eval_windows, non-negative) and below a documented limit,
// and the estimated memory of one rank (parameters, gradients and AdamW moments in fp32, plus activations) must fit
// the host's memory when the model lives there (train.kernels = "cpu"). Errors name the field and the figure.
#ifndef KACHI_RUNTIME_TRAIN_CONFIG_BOUNDS_H_
#define KACHI_RUNTIME_TRAIN_CONFIG_BOUNDS_H_

#include <cstdint>

#include "absl/status/status.h"
#include "runtime/model/gpt_shape.h"
#include "runtime/proto/config.pb.h"

namespace kachi {

// Upper limits of the size fields (README "Configuration limits").
inline constexpr int64_t kMaxLayers = 1024;
inline constexpr int64_t kMaxHeads = 1024;
inline constexpr int64_t kMaxWidth = 65536;
inline constexpr int64_t kMaxVocab = 1 << 24;
inline constexpr int64_t kMaxContext = 1 << 20;
inline constexpr int64_t kMaxBatch = 1 << 24;  // train.global_batch, micro_batch, eval_windows

// InvalidArgument naming the first model.* / train.* field that is set and out of bounds.
absl::Status CheckConfigBounds(const config::KachiConfig& config);

// Estimated bytes one rank of a (dp, tp) run of `shape` needs: fp32 parameters and gradients of its 1/tp share,
// AdamW moments (1/dp of them with ZeRO-1), activations of one micro-batch of seq_len tokens.
int64_t EstimateRankBytes(const GptShape& shape, int tp, int dp, bool zero1, int64_t micro_batch, int64_t seq_len);

// ResourceExhausted with the estimate and the host's memory when train.kernels is "cpu" and the estimate of one
// rank exceeds this host's physical memory.
absl::Status CheckMemoryFits(const GptShape& shape, int tp, int dp, bool zero1, const config::TrainConfig& train);

}  // namespace kachi

#endif  // KACHI_RUNTIME_TRAIN_CONFIG_BOUNDS_H_
