// Random token shards in a temporary directory (see synthetic_tokens.h).
#include "bench/train/synthetic_tokens.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "kernels/base/status_macros.h"
#include "runtime/data/token_shard.h"

namespace kachi {

absl::StatusOr<SyntheticTokenShard> SyntheticTokenShard::Create(int64_t count, int64_t vocab_size, uint64_t seed) {
  if (vocab_size < 1 || vocab_size > 65536) {
    return absl::InvalidArgumentError(
        absl::StrCat("vocabulary of ", vocab_size, " tokens does not fit a uint16 shard: expected 1..65536"));
  }
  if (count <= 0) return absl::InvalidArgumentError(absl::StrCat("token count ", count, " must be positive"));
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern = absl::StrCat(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp", "/kachi_bench_train_XXXXXX");
  if (mkdtemp(pattern.data()) == nullptr) {
    return absl::PermissionDeniedError(absl::StrCat("cannot create a temporary directory ", pattern, ": ",
                                                    std::strerror(errno)));
  }
  SyntheticTokenShard shard;
  shard.directory_ = pattern;
  shard.path_ = pattern + "/train_000000.bin";
  std::mt19937_64 generator(seed);
  std::uniform_int_distribution<int64_t> token(0, vocab_size - 1);
  std::vector<uint16_t> tokens(static_cast<size_t>(count));
  for (uint16_t& t : tokens) t = static_cast<uint16_t>(token(generator));
  KACHI_RETURN_IF_ERROR(WriteTokenShard(shard.path_, tokens));
  return shard;
}

SyntheticTokenShard::SyntheticTokenShard(SyntheticTokenShard&& other) noexcept { *this = std::move(other); }

SyntheticTokenShard& SyntheticTokenShard::operator=(SyntheticTokenShard&& other) noexcept {
  std::swap(directory_, other.directory_);
  std::swap(path_, other.path_);
  return *this;
}

SyntheticTokenShard::~SyntheticTokenShard() {
  if (directory_.empty()) return;
  std::error_code ignored;
  std::filesystem::remove_all(directory_, ignored);
}

}  // namespace kachi
