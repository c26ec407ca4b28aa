// TokenBatch: what the loaders hand to the model — b sequences of T input tokens and the T next tokens as targets.
#ifndef KACHI_RUNTIME_DATA_TOKEN_BATCH_H_
#define KACHI_RUNTIME_DATA_TOKEN_BATCH_H_

#include <cstdint>
#include <vector>

namespace kachi {

// Row-major [batch_size, seq_len] int32 inputs and targets; targets[i][t] == the token after inputs[i][t].
struct TokenBatch {
  int64_t batch_size = 0;
  int64_t seq_len = 0;
  std::vector<int32_t> inputs;
  std::vector<int32_t> targets;
  // The window index (in the token stream, see token_stream.h) of each row, for logging and tests.
  std::vector<int64_t> windows;
};

}  // namespace kachi

#endif  // KACHI_RUNTIME_DATA_TOKEN_BATCH_H_
