// ValidateRankSplit (see rank_split.h).
#include "runtime/data/rank_split.h"

#include "absl/strings/str_cat.h"

namespace kachi {

absl::Status ValidateRankSplit(int64_t seq_len, int64_t micro_batch, int dp_size, int dp_rank) {
  if (seq_len <= 0) return absl::InvalidArgumentError(absl::StrCat("seq_len is ", seq_len, ", expected > 0"));
  if (micro_batch <= 0) {
    return absl::InvalidArgumentError(absl::StrCat("micro_batch is ", micro_batch, ", expected > 0"));
  }
  if (dp_size <= 0 || dp_rank < 0 || dp_rank >= dp_size) {
    return absl::InvalidArgumentError(absl::StrCat("dp_rank ", dp_rank, " of dp_size ", dp_size,
                                                   ": expected dp_size > 0 and 0 <= dp_rank < dp_size"));
  }
  return absl::OkStatus();
}

}  // namespace kachi
