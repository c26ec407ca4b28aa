// Size-field bounds and the per-rank memory estimate (see config_bounds.h).
#include "runtime/train/config_bounds.h"

#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "kernels/base/status_macros.h"

namespace kachi {
namespace {

// InvalidArgument "<field> = <value> must be in [<min>, <max>]" when `set` and outside.
absl::Status InRange(const char* field, bool set, int64_t value, int64_t min, int64_t max) {
  if (!set || (value >= min && value <= max)) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(field, " = ", value, " must be in [", min, ", ", max, "]"));
}

double GiB(int64_t bytes) { return static_cast<double>(bytes) / (1024.0 * 1024.0 * 1024.0); }

}  // namespace

absl::Status CheckConfigBounds(const config::KachiConfig& config) {
  const config::ModelConfig& m = config.model();
  const config::TrainConfig& t = config.train();
  for (const absl::Status& st : {
           InRange("model.layers", m.has_layers(), m.layers(), 1, kMaxLayers),
           InRange("model.heads", m.has_heads(), m.heads(), 1, kMaxHeads),
           InRange("model.width", m.has_width(), m.width(), 1, kMaxWidth),
           InRange("model.vocab_size", m.has_vocab_size(), m.vocab_size(), 1, kMaxVocab),
           InRange("model.vocab_multiple", m.has_vocab_multiple(), m.vocab_multiple(), 0, kMaxVocab),
           InRange("model.context", m.has_context(), m.context(), 1, kMaxContext),
           InRange("train.seq_len", t.has_seq_len(), t.seq_len(), 1, kMaxContext),
           InRange("train.global_batch", t.has_global_batch(), t.global_batch(), 1, kMaxBatch),
           InRange("train.micro_batch", t.has_micro_batch(), t.micro_batch(), 1, kMaxBatch),
           InRange("train.steps", t.has_steps(), t.steps(), 0, INT32_MAX),
           InRange("train.eval_every", t.has_eval_every(), t.eval_every(), 0, INT32_MAX),
           InRange("train.eval_windows", t.has_eval_windows(), t.eval_windows(), 0, kMaxBatch),
           InRange("train.log_every", t.has_log_every(), t.log_every(), 0, INT32_MAX),
       }) {
    KACHI_RETURN_IF_ERROR(st);
  }
  return absl::OkStatus();
}

int64_t EstimateRankBytes(const GptShape& shape, int tp, int dp, bool zero1, int64_t micro_batch, int64_t seq_len) {
  // Doubles: the bounds above keep every figure far below 2^63 bytes, the estimate need not be exact.
  const double params = static_cast<double>(shape.num_parameters()) / tp;
  const double moments = 2 * params / (zero1 ? dp : 1);
  const double tokens = static_cast<double>(micro_batch) * seq_len;
  // Per layer and token: about 16 width-sized tensors kept for backward, plus heads x seq_len attention scores;
  // plus the logits over the padded vocabulary.
  const double activations = tokens * (static_cast<double>(shape.layers) * (16.0 * shape.width / tp +
                                                                            2.0 * shape.heads / tp * seq_len) +
                                       2.0 * shape.padded_vocab / tp);
  const double bytes = 4.0 * (2 * params + moments + activations);
  return bytes > 9.0e18 ? INT64_MAX : static_cast<int64_t>(bytes);
}

absl::Status CheckMemoryFits(const GptShape& shape, int tp, int dp, bool zero1, const config::TrainConfig& train) {
  if (train.kernels() != "cpu") return absl::OkStatus();  // GPU memory is checked where the device is bound
  const int64_t need = EstimateRankBytes(shape, tp, dp, zero1, train.micro_batch(), train.seq_len());
  const int64_t host = static_cast<int64_t>(sysconf(_SC_PHYS_PAGES)) * sysconf(_SC_PAGESIZE);
  if (host > 0 && need > host) {
    return absl::ResourceExhaustedError(absl::StrFormat(
        "model %s at tp %d needs about %.1f GiB per rank (%.3g parameters: fp32 weights, gradients, AdamW moments, "
        "activations of train.micro_batch x train.seq_len), this host has %.1f GiB",
        DescribeShape(shape), tp, GiB(need), static_cast<double>(shape.num_parameters()), GiB(host)));
  }
  return absl::OkStatus();
}

}  // namespace kachi
