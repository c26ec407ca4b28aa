// Token embedding lookup on a vocabulary shard (Megatron vocab-parallel embedding). Each tensor-parallel rank holds
// rows [vocab_start, vocab_start + vocab_rows) of the table; a token outside that range embeds to zeros on this
// rank, so summing the outputs over the TP group (all-reduce) gives the full embedding. A single-rank caller
// passes vocab_start = 0 and vocab_rows = the whole vocabulary.
#ifndef KACHI_KERNELS_TOKEN_EMBEDDING_H_
#define KACHI_KERNELS_TOKEN_EMBEDDING_H_

#include <cstdint>

namespace kachi::cpu {

// out[n, :] = table[tokens[n] - vocab_start, :] for owned tokens, zeros otherwise. out: [num_tokens, channels]
// (written, not accumulated); table: [vocab_rows, channels].
template <typename T>
void TokenEmbeddingForward(T* out, const int32_t* tokens, const T* table, int64_t num_tokens, int64_t channels,
                           int64_t vocab_start, int64_t vocab_rows);

// dtable[tokens[n] - vocab_start, :] += dout[n, :] for every owned token, in order n = 0, 1, ... (deterministic).
// Tokens owned by other shards contribute nothing here.
template <typename T>
void TokenEmbeddingBackward(T* dtable, const T* dout, const int32_t* tokens, int64_t num_tokens, int64_t channels,
                            int64_t vocab_start, int64_t vocab_rows);

}  // namespace kachi::cpu

#endif  // KACHI_KERNELS_TOKEN_EMBEDDING_H_
