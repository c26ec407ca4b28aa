// Writer and memory-mapped reader for llm.c token shards (see token_shard.h).
#include "runtime/data/token_shard.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

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
  if (header[0] == kTokenShardU32Magic) {
    return absl::UnimplementedError(ShardMessage(
        path, "is llm.c's uint32-token variant (magic 20240801, vocabulary above 65,536); training reads uint16 "
              "shards only"));
  }
  if (header[0] != kTokenShardMagic) {
    return absl::DataLossError(ShardMessage(
        path, absl::StrCat("magic is ", header[0], ", expected ", kTokenShardMagic, " (not an llm.c token shard)")));
  }
  if (header[1] != kTokenShardVersion) {
    return absl::DataLossError(ShardMessage(
        path, absl::StrCat("version is ", header[1], ", expected ", kTokenShardVersion, " (uint16 tokens)")));
  }
  if (header[2] < 0) {
    return absl::DataLossError(ShardMessage(path, absl::StrCat("header token count is negative: ", header[2])));
  }
  const size_t num_tokens = static_cast<size_t>(header[2]);
  const size_t expected_bytes = kTokenShardHeaderBytes + num_tokens * sizeof(uint16_t);
  if (file_bytes != expected_bytes) {
    return absl::DataLossError(ShardMessage(
        path, absl::StrCat("header says ", num_tokens, " tokens, so the file should be ", expected_bytes,
                           " bytes, but it is ", file_bytes, " bytes")));
  }
  shard.tokens_ = reinterpret_cast<const uint16_t*>(static_cast<const char*>(mapping) + kTokenShardHeaderBytes);
  shard.num_tokens_ = num_tokens;

  if (vocab_size > 0) {
    for (size_t i = 0; i < num_tokens; ++i) {
      if (shard.tokens_[i] >= vocab_size) {
        return absl::OutOfRangeError(ShardMessage(
            path, absl::StrCat("token ", shard.tokens_[i], " at position ", i, " is >= the vocab size ",
                               vocab_size)));
      }
    }
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

absl::StatusOr<std::vector<uint16_t>> ReadTokenShard(const std::string& path, int vocab_size) {
  absl::StatusOr<TokenShard> shard = TokenShard::Open(path, vocab_size);
  if (!shard.ok()) return shard.status();
  absl::Span<const uint16_t> tokens = shard->tokens();
  return std::vector<uint16_t>(tokens.begin(), tokens.end());
}

}  // namespace kachi
