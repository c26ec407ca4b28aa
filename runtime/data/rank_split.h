// The checks every data-parallel loader makes on how a batch is split across ranks.
#ifndef KACHI_RUNTIME_DATA_RANK_SPLIT_H_
#define KACHI_RUNTIME_DATA_RANK_SPLIT_H_

#include <cstdint>

#include "absl/status/status.h"

namespace kachi {

// InvalidArgument unless seq_len > 0, micro_batch > 0, dp_size > 0 and 0 <= dp_rank < dp_size; the message names
// the value found and what was expected.
absl::Status ValidateRankSplit(int64_t seq_len, int64_t micro_batch, int dp_size, int dp_rank);

}  // namespace kachi

#endif  // KACHI_RUNTIME_DATA_RANK_SPLIT_H_
