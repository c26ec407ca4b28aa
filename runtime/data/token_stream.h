// TokenStream: a set of token shards read as one concatenated stream (shards in sorted path order), cut into
// training windows. Window w of sequence length T covers stream tokens [w*T, w*T + T + 1): its first T tokens are
// the inputs and its last T the targets, so consecutive windows overlap by one token and every token is predicted
// once. A stream of N tokens has floor((N - 1) / T) windows; a window may span two shards.
// Shards may be uint16 or uint32 (token_shard.h), mixed in one pattern: each shard's width is read from its own
// header and the stream is the sequence of token ids, so the same ids give the same windows whatever the widths.
#ifndef KACHI_RUNTIME_DATA_TOKEN_STREAM_H_
#define KACHI_RUNTIME_DATA_TOKEN_STREAM_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/data/token_batch.h"
#include "runtime/data/token_shard.h"

namespace kachi {

// The files matching a glob pattern (e.g. "DIR/train_*.bin"), sorted; NotFound naming the pattern when none match.
absl::StatusOr<std::vector<std::string>> ExpandShardPattern(const std::string& pattern);

// Read-only, memory-mapped view of several shards as one stream. Thread-compatible (const methods are safe).
class TokenStream {
 public:
  // Opens every shard matching `pattern` (see ExpandShardPattern); with vocab_size > 0 every token is checked.
  static absl::StatusOr<TokenStream> Open(const std::string& pattern, int vocab_size = 0);
  // Opens the given shards, in the given order.
  static absl::StatusOr<TokenStream> OpenFiles(const std::vector<std::string>& paths, int vocab_size = 0);

  // Total tokens over all shards.
  int64_t num_tokens() const { return shard_starts_.back(); }
  // Number of shards.
  size_t num_shards() const { return shards_.size(); }
  // Number of windows of length seq_len + 1 at stride seq_len (0 when the stream is too short).
  int64_t NumWindows(int64_t seq_len) const;
  // Copies stream tokens [start, start + count) into `out` as int32; the range must lie inside the stream.
  void CopyTokens(int64_t start, int64_t count, int32_t* out) const;
  // Appends window `window` (< NumWindows(seq_len)) to `batch` as one more row.
  void AppendWindow(int64_t window, int64_t seq_len, TokenBatch& batch) const;

 private:
  TokenStream() = default;

  std::vector<TokenShard> shards_;
  // shard_starts_[i] = stream offset of shard i's first token; back() = total tokens.
  std::vector<int64_t> shard_starts_{0};
};

}  // namespace kachi

#endif  // KACHI_RUNTIME_DATA_TOKEN_STREAM_H_
