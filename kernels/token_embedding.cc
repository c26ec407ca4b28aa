// CPU reference for the vocab-sharded token embedding (see token_embedding.h).
#include "kernels/token_embedding.h"

#include <algorithm>

#include "kernels/vector_ops.h"

namespace kachi::cpu {
namespace {

// Row of the local table shard that holds `token`, or -1 when another shard owns it.
int64_t LocalRow(int32_t token, int64_t vocab_start, int64_t vocab_rows) {
  const int64_t row = static_cast<int64_t>(token) - vocab_start;
  return (row >= 0 && row < vocab_rows) ? row : -1;
}

}  // namespace

template <typename T>
void TokenEmbeddingForward(T* out, const int32_t* tokens, const T* table, int64_t num_tokens, int64_t channels,
                           int64_t vocab_start, int64_t vocab_rows) {
  for (int64_t n = 0; n < num_tokens; ++n) {
    T* out_row = out + n * channels;
    const int64_t row = LocalRow(tokens[n], vocab_start, vocab_rows);
    if (row < 0) {
      std::fill(out_row, out_row + channels, T(0));
    } else {
      std::copy(table + row * channels, table + (row + 1) * channels, out_row);
    }
  }
}

template <typename T>
void TokenEmbeddingBackward(T* dtable, const T* dout, const int32_t* tokens, int64_t num_tokens, int64_t channels,
                            int64_t vocab_start, int64_t vocab_rows) {
  for (int64_t n = 0; n < num_tokens; ++n) {
    const int64_t row = LocalRow(tokens[n], vocab_start, vocab_rows);
    if (row >= 0) internal::Axpy(dtable + row * channels, T(1), dout + n * channels, channels);
  }
}

template void TokenEmbeddingForward<float>(float*, const int32_t*, const float*, int64_t, int64_t, int64_t, int64_t);
template void TokenEmbeddingForward<double>(double*, const int32_t*, const double*, int64_t, int64_t, int64_t, int64_t);
template void TokenEmbeddingBackward<float>(float*, const float*, const int32_t*, int64_t, int64_t, int64_t, int64_t);
template void TokenEmbeddingBackward<double>(double*, const double*, const int32_t*, int64_t, int64_t, int64_t,
                                             int64_t);

}  // namespace kachi::cpu
