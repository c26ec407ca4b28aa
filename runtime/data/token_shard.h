// Token shards in llm.c's format: a header of 256 little-endian int32 (magic, version, token count, the rest zero)
// followed by that many tokens: uint16 (magic 20240520, version 1) or, for vocabularies above 65,536 ids, uint32
// (magic 20240801, version 7). Shards written by llm.c's data scripts load here unchanged; the reader detects the
// width from the header, so training and evaluation take either.
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
// same 256-word header. Written by `kachi data --tokenizer` for vocabularies above 65,536 tokens; read by TokenShard
// like the uint16 format.
inline constexpr int32_t kTokenShardU32Magic = 20240801;
inline constexpr int32_t kTokenShardU32Version = 7;

// Writes `tokens` to `path` as one shard in the uint32 variant (same atomic write and limits as WriteTokenShard).
absl::Status WriteTokenShardU32(const std::string& path, absl::Span<const uint32_t> tokens);

// Writes `tokens` to `path` as one shard, through a temporary file renamed into place (a reader never sees a
// partial shard). Fails when the file cannot be written or the count does not fit the int32 header field.
absl::Status WriteTokenShard(const std::string& path, absl::Span<const uint16_t> tokens);

// A read-only, memory-mapped shard of either width whose header and size were validated on open. Move-only.
class TokenShard {
 public:
  // Maps and validates `path`; the token width comes from the header (magic 20240520 + version 1: uint16; magic
  // 20240801 + version 7: uint32). Errors name the file: NotFound when it cannot be opened; DataLoss for a header
  // shorter than 1024 bytes, an unknown magic, a version that does not go with the magic, or a size that disagrees
  // with the header's token count; OutOfRange naming the token, its position and byte offset when `vocab_size` > 0
  // and some token is >= vocab_size, or (uint32 shards) when some token is above 2^31 - 1, the largest id the
  // loaders' int32 batches hold.
  static absl::StatusOr<TokenShard> Open(const std::string& path, int vocab_size = 0);

  TokenShard(TokenShard&& other) noexcept;
  TokenShard& operator=(TokenShard&& other) noexcept;
  TokenShard(const TokenShard&) = delete;
  TokenShard& operator=(const TokenShard&) = delete;
  ~TokenShard();

  // The file this shard was opened from.
  const std::string& path() const { return path_; }
  // Bytes per token: 2 (uint16 shard) or 4 (uint32 variant).
  size_t token_bytes() const { return token_bytes_; }
  // The tokens of a uint16 shard (valid while this object lives); empty for a uint32 shard.
  absl::Span<const uint16_t> tokens() const {
    return token_bytes_ == sizeof(uint16_t) ? absl::MakeConstSpan(static_cast<const uint16_t*>(tokens_), num_tokens_)
                                            : absl::Span<const uint16_t>();
  }
  // The tokens of a uint32 shard (valid while this object lives); empty for a uint16 shard.
  absl::Span<const uint32_t> tokens_u32() const {
    return token_bytes_ == sizeof(uint32_t) ? absl::MakeConstSpan(static_cast<const uint32_t*>(tokens_), num_tokens_)
                                            : absl::Span<const uint32_t>();
  }
  // Copies tokens [start, start + count) (inside the shard) into `out` as int32, whatever the width.
  void CopyTokens(size_t start, size_t count, int32_t* out) const;
  // Number of tokens in the shard.
  size_t size() const { return num_tokens_; }

 private:
  TokenShard() = default;
  void Unmap();

  std::string path_;
  void* mapping_ = nullptr;
  size_t mapping_bytes_ = 0;
  const void* tokens_ = nullptr;
  size_t token_bytes_ = sizeof(uint16_t);
  size_t num_tokens_ = 0;
};

// Reads a whole uint16 shard into memory (Open + copy); same validation and errors as TokenShard::Open, and
// InvalidArgument naming the file for a uint32 shard (read those with ReadTokenShardU32).
absl::StatusOr<std::vector<uint16_t>> ReadTokenShard(const std::string& path, int vocab_size = 0);

// Reads a whole shard of either width into memory as uint32 ids; same validation and errors as TokenShard::Open.
absl::StatusOr<std::vector<uint32_t>> ReadTokenShardU32(const std::string& path, int vocab_size = 0);

}  // namespace kachi

#endif  // KACHI_RUNTIME_DATA_TOKEN_SHARD_H_
