// Writer and memory-mapped reader for llm.c token shards (see token_shard.h).
#include "runtime/data/token_shard.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"

namespace kachi {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "llm.c shards are little-endian; this host is not");

namespace {

// "token shard PATH: what" — every error names the file.
std::string ShardMessage(const std::string& path, const std::string& what) {
  return absl::StrCat("token shard ", path, ": ", what);
}

}  // namespace

namespace {

// Writes one shard of `count` tokens of `token_bytes` bytes each under the given header magic and version.
absl::Status WriteShardFile(const std::string& path, int32_t magic, int32_t version, const void* data, size_t count,
                            size_t token_bytes) {
  if (count > static_cast<size_t>(std::numeric_limits<int32_t>::max())) {
    return absl::InvalidArgumentError(ShardMessage(
        path, absl::StrCat(count, " tokens do not fit the int32 header count (max ",
                           std::numeric_limits<int32_t>::max(), ")")));
  }
  int32_t header[kTokenShardHeaderWords] = {};
  header[0] = magic;
  header[1] = version;
  header[2] = static_cast<int32_t>(count);

  const std::string temp_path = path + ".tmp";
  std::FILE* file = std::fopen(temp_path.c_str(), "wb");
  if (file == nullptr) {
    return absl::PermissionDeniedError(
        ShardMessage(path, absl::StrCat("cannot create ", temp_path, ": ", std::strerror(errno))));
  }
  bool written = std::fwrite(header, sizeof(header), 1, file) == 1;
  if (written && count > 0) written = std::fwrite(data, token_bytes, count, file) == count;
  const bool closed = std::fclose(file) == 0;
  if (!written || !closed) {
    std::remove(temp_path.c_str());
    return absl::DataLossError(ShardMessage(path, absl::StrCat("write failed: ", std::strerror(errno))));
  }
  if (std::rename(temp_path.c_str(), path.c_str()) != 0) {
    std::remove(temp_path.c_str());
    return absl::DataLossError(
        ShardMessage(path, absl::StrCat("cannot rename ", temp_path, " into place: ", std::strerror(errno))));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status WriteTokenShard(const std::string& path, absl::Span<const uint16_t> tokens) {
  return WriteShardFile(path, kTokenShardMagic, kTokenShardVersion, tokens.data(), tokens.size(), sizeof(uint16_t));
}

absl::Status WriteTokenShardU32(const std::string& path, absl::Span<const uint32_t> tokens) {
  return WriteShardFile(path, kTokenShardU32Magic, kTokenShardU32Version, tokens.data(), tokens.size(),
                        sizeof(uint32_t));
}

namespace {

// Ids at or above this do not fit the int32 batches (checked on uint32 shards).
constexpr uint64_t kInt32Limit = uint64_t{1} << 31;

// Bytes per token of a shard with this header magic and version: 2 or 4; DataLoss naming the file otherwise.
absl::StatusOr<size_t> TokenBytesOf(const std::string& path, int32_t magic, int32_t version) {
  if (magic == kTokenShardMagic) {
    if (version == kTokenShardVersion) return sizeof(uint16_t);
    return absl::DataLossError(ShardMessage(
        path, absl::StrCat("version is ", version, ", expected ", kTokenShardVersion, " (uint16 tokens) for magic ",
                           kTokenShardMagic)));
  }
  if (magic == kTokenShardU32Magic) {
    if (version == kTokenShardU32Version) return sizeof(uint32_t);
    return absl::DataLossError(ShardMessage(
        path, absl::StrCat("version is ", version, ", expected ", kTokenShardU32Version, " (uint32 tokens) for magic ",
                           kTokenShardU32Magic)));
  }
  return absl::DataLossError(ShardMessage(
      path, absl::StrCat("magic is ", magic, ", expected ", kTokenShardMagic, " (uint16 tokens) or ",
                         kTokenShardU32Magic, " (uint32 tokens): not an llm.c token shard")));
}

// OutOfRange naming the file, the token, its position and byte offset, for the first token >= `limit` (one check
// for both widths). `limit_note` follows the limit in the message ("" for the vocabulary).
template <typename Token>
absl::Status CheckTokenIds(const std::string& path, absl::Span<const Token> tokens, uint64_t limit,
                           const char* limit_note) {
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (static_cast<uint64_t>(tokens[i]) >= limit) {
      const std::string bound =
          *limit_note == '\0' ? absl::StrCat("the vocab size ", limit) : absl::StrCat(limit, limit_note);
      return absl::OutOfRangeError(ShardMessage(
          path, absl::StrCat("token ", tokens[i], " at position ", i, " (byte offset ",
                             kTokenShardHeaderBytes + i * sizeof(Token), ") is >= ", bound)));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<TokenShard> TokenShard::Open(const std::string& path, int vocab_size) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return absl::NotFoundError(ShardMessage(path, absl::StrCat("cannot open: ", std::strerror(errno))));
  }
  struct stat info {};
  if (::fstat(fd, &info) != 0) {
    const int error = errno;
    ::close(fd);
    return absl::NotFoundError(ShardMessage(path, absl::StrCat("cannot stat: ", std::strerror(error))));
  }
  const size_t file_bytes = static_cast<size_t>(info.st_size);
  if (file_bytes < kTokenShardHeaderBytes) {
    ::close(fd);
    return absl::DataLossError(ShardMessage(
        path, absl::StrCat("file is ", file_bytes, " bytes, shorter than the ", kTokenShardHeaderBytes,
                           "-byte header")));
  }
  void* mapping = ::mmap(nullptr, file_bytes, PROT_READ, MAP_PRIVATE, fd, 0);
  const int map_error = errno;
  ::close(fd);
  if (mapping == MAP_FAILED) {
    return absl::InternalError(ShardMessage(path, absl::StrCat("mmap failed: ", std::strerror(map_error))));
  }

  TokenShard shard;
  shard.path_ = path;
  shard.mapping_ = mapping;
  shard.mapping_bytes_ = file_bytes;

  const auto* header = static_cast<const int32_t*>(mapping);
  absl::StatusOr<size_t> token_bytes = TokenBytesOf(path, header[0], header[1]);
  if (!token_bytes.ok()) return token_bytes.status();
  if (header[2] < 0) {
    return absl::DataLossError(ShardMessage(path, absl::StrCat("header token count is negative: ", header[2])));
  }
  const size_t num_tokens = static_cast<size_t>(header[2]);
  const size_t expected_bytes = kTokenShardHeaderBytes + num_tokens * *token_bytes;
  if (file_bytes != expected_bytes) {
    return absl::DataLossError(ShardMessage(
        path, absl::StrCat("header says ", num_tokens, " tokens of ", *token_bytes, " bytes, so the file should be ",
                           expected_bytes, " bytes, but it is ", file_bytes, " bytes")));
  }
  shard.tokens_ = static_cast<const char*>(mapping) + kTokenShardHeaderBytes;
  shard.token_bytes_ = *token_bytes;
  shard.num_tokens_ = num_tokens;

  // Checked against the vocabulary when given; uint32 ids also always against 2^31 (they must fit int32 batches).
  const bool wide = shard.token_bytes_ == sizeof(uint32_t);
  const uint64_t limit = vocab_size > 0 ? static_cast<uint64_t>(vocab_size) : (wide ? kInt32Limit : 0);
  if (limit > 0) {
    const char* note = vocab_size > 0 ? "" : " (2^31: ids must fit int32)";
    const absl::Status ids = wide ? CheckTokenIds(path, shard.tokens_u32(), limit, note)
                                  : CheckTokenIds(path, shard.tokens(), limit, note);
    if (!ids.ok()) return ids;
  }
  return shard;
}

TokenShard::TokenShard(TokenShard&& other) noexcept { *this = std::move(other); }

TokenShard& TokenShard::operator=(TokenShard&& other) noexcept {
  if (this != &other) {
    Unmap();
    path_ = std::move(other.path_);
    mapping_ = std::exchange(other.mapping_, nullptr);
    mapping_bytes_ = std::exchange(other.mapping_bytes_, 0);
    tokens_ = std::exchange(other.tokens_, nullptr);
    token_bytes_ = other.token_bytes_;
    num_tokens_ = std::exchange(other.num_tokens_, 0);
  }
  return *this;
}

TokenShard::~TokenShard() { Unmap(); }

void TokenShard::Unmap() {
  if (mapping_ != nullptr) {
    ::munmap(mapping_, mapping_bytes_);
    mapping_ = nullptr;
  }
}

void TokenShard::CopyTokens(size_t start, size_t count, int32_t* out) const {
  assert(start + count <= num_tokens_);
  if (token_bytes_ == sizeof(uint16_t)) {
    const uint16_t* source = static_cast<const uint16_t*>(tokens_) + start;
    std::copy(source, source + count, out);
  } else {
    // Ids were checked < 2^31 on open, so the conversion keeps their value.
    const uint32_t* source = static_cast<const uint32_t*>(tokens_) + start;
    std::transform(source, source + count, out, [](uint32_t id) { return static_cast<int32_t>(id); });
  }
}

absl::StatusOr<std::vector<uint16_t>> ReadTokenShard(const std::string& path, int vocab_size) {
  absl::StatusOr<TokenShard> shard = TokenShard::Open(path, vocab_size);
  if (!shard.ok()) return shard.status();
  if (shard->token_bytes() != sizeof(uint16_t)) {
    return absl::InvalidArgumentError(
        ShardMessage(path, "holds uint32 tokens (magic 20240801); read it with ReadTokenShardU32"));
  }
  absl::Span<const uint16_t> tokens = shard->tokens();
  return std::vector<uint16_t>(tokens.begin(), tokens.end());
}

absl::StatusOr<std::vector<uint32_t>> ReadTokenShardU32(const std::string& path, int vocab_size) {
  absl::StatusOr<TokenShard> shard = TokenShard::Open(path, vocab_size);
  if (!shard.ok()) return shard.status();
  if (shard->token_bytes() == sizeof(uint32_t)) {
    absl::Span<const uint32_t> tokens = shard->tokens_u32();
    return std::vector<uint32_t>(tokens.begin(), tokens.end());
  }
  absl::Span<const uint16_t> tokens = shard->tokens();
  return std::vector<uint32_t>(tokens.begin(), tokens.end());
}

}  // namespace kachi
