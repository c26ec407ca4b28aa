// Token shards in llm.c's format: a header of 256 little-endian int32 (magic 20240520, version 1, token count,
// the rest zero) followed by that many uint16 tokens. Shards written by llm.c's data scripts load here unchanged.
#ifndef KACHI_RUNTIME_DATA_TOKEN_SHARD_H_
#define KACHI_RUNTIME_DATA_TOKEN_SHARD_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace kachi {

// First header word of every shard.
inline constexpr int32_t kTokenShardMagic = 20240520;
// Second header word: version 1 stores uint16 tokens.
inline constexpr int32_t kTokenShardVersion = 1;
// Header size in int32 words and in bytes.
inline constexpr size_t kTokenShardHeaderWords = 256;
inline constexpr size_t kTokenShardHeaderBytes = kTokenShardHeaderWords * sizeof(int32_t);

// llm.c's uint32 variant (its data_common.py "llama-3" format): magic 20240801, version 7, uint32 tokens after the
// same 256-word header. Written by `kachi data --tokenizer` for vocabularies above 65,536 tokens; the trainer's
// reader (TokenShard) takes uint16 shards only.
inline constexpr int32_t kTokenShardU32Magic = 20240801;
inline constexpr int32_t kTokenShardU32Version = 7;

// Writes `tokens` to `path` as one shard in the uint32 variant (same atomic write and limits as WriteTokenShard).
absl::Status WriteTokenShardU32(const std::string& path, absl::Span<const uint32_t> tokens);

// Writes `tokens` to `path` as one shard, through a temporary file renamed into place (a reader never sees a
// partial shard). Fails when the file cannot be written or the count does not fit the int32 header field.
absl::Status WriteTokenShard(const std::string& path, absl::Span<const uint16_t> tokens);

// A read-only, memory-mapped shard whose header and size were validated on open. Move-only.
class TokenShard {
 public:
  // Maps and validates `path`. Errors name the file: NotFound when it cannot be opened; DataLoss for a header
  // shorter than 1024 bytes, a wrong magic or version, or a size that disagrees with the header's token count;
  // OutOfRange when `vocab_size` > 0 and some token is >= vocab_size.
  static absl::StatusOr<TokenShard> Open(const std::string& path, int vocab_size = 0);

  TokenShard(TokenShard&& other) noexcept;
  TokenShard& operator=(TokenShard&& other) noexcept;
  TokenShard(const TokenShard&) = delete;
  TokenShard& operator=(const TokenShard&) = delete;
  ~TokenShard();

  // The file this shard was opened from.
  const std::string& path() const { return path_; }
  // The shard's tokens (valid while this object lives).
  absl::Span<const uint16_t> tokens() const { return absl::MakeConstSpan(tokens_, num_tokens_); }
  // Number of tokens in the shard.
  size_t size() const { return num_tokens_; }

 private:
  TokenShard() = default;
  void Unmap();

  std::string path_;
  void* mapping_ = nullptr;
  size_t mapping_bytes_ = 0;
  const uint16_t* tokens_ = nullptr;
  size_t num_tokens_ = 0;
};

// Reads a whole shard into memory (Open + copy); same validation and errors as TokenShard::Open.
absl::StatusOr<std::vector<uint16_t>> ReadTokenShard(const std::string& path, int vocab_size = 0);

}  // namespace kachi

#endif  // KACHI_RUNTIME_DATA_TOKEN_SHARD_H_
