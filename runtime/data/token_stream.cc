// TokenStream (see token_stream.h).
#include "runtime/data/token_stream.h"

#include <glob.h>

#include <algorithm>
#include <cassert>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace kachi {

absl::StatusOr<std::vector<std::string>> ExpandShardPattern(const std::string& pattern) {
  glob_t matches{};
  const int result = ::glob(pattern.c_str(), GLOB_ERR, nullptr, &matches);
  std::vector<std::string> paths;
  if (result == 0) {
    for (size_t i = 0; i < matches.gl_pathc; ++i) paths.emplace_back(matches.gl_pathv[i]);
  }
  ::globfree(&matches);
  if (result == GLOB_NOMATCH || (result == 0 && paths.empty())) {
    return absl::NotFoundError(absl::StrCat("no token shard matches the pattern ", pattern));
  }
  if (result != 0) {
    return absl::InternalError(absl::StrCat("glob failed (code ", result, ") for the pattern ", pattern));
  }
  std::sort(paths.begin(), paths.end());
  return paths;
}

absl::StatusOr<TokenStream> TokenStream::Open(const std::string& pattern, int vocab_size) {
  absl::StatusOr<std::vector<std::string>> paths = ExpandShardPattern(pattern);
  if (!paths.ok()) return paths.status();
  return OpenFiles(*paths, vocab_size);
}

absl::StatusOr<TokenStream> TokenStream::OpenFiles(const std::vector<std::string>& paths, int vocab_size) {
  if (paths.empty()) return absl::InvalidArgumentError("no token shard paths given: expected at least one");
  TokenStream stream;
  for (const std::string& path : paths) {
    absl::StatusOr<TokenShard> shard = TokenShard::Open(path, vocab_size);
    if (!shard.ok()) return shard.status();
    stream.shard_starts_.push_back(stream.shard_starts_.back() + static_cast<int64_t>(shard->size()));
    stream.shards_.push_back(*std::move(shard));
  }
  return stream;
}

int64_t TokenStream::NumWindows(int64_t seq_len) const {
  if (seq_len <= 0 || num_tokens() < seq_len + 1) return 0;
  return (num_tokens() - 1) / seq_len;
}

void TokenStream::CopyTokens(int64_t start, int64_t count, int32_t* out) const {
  assert(start >= 0 && count >= 0 && start + count <= num_tokens());
  // The shard holding `start`: the last one whose first token is at or before it.
  size_t shard = static_cast<size_t>(
      std::upper_bound(shard_starts_.begin(), shard_starts_.end() - 1, start) - shard_starts_.begin() - 1);
  while (count > 0) {
    const int64_t offset = start - shard_starts_[shard];
    const int64_t available = static_cast<int64_t>(shards_[shard].size()) - offset;
    const int64_t take = std::min(available, count);
    shards_[shard].CopyTokens(static_cast<size_t>(offset), static_cast<size_t>(take), out);
    out += take;
    start += take;
    count -= take;
    ++shard;
  }
}

void TokenStream::AppendWindow(int64_t window, int64_t seq_len, TokenBatch& batch) const {
  std::vector<int32_t> tokens(static_cast<size_t>(seq_len + 1));
  CopyTokens(window * seq_len, seq_len + 1, tokens.data());
  batch.inputs.insert(batch.inputs.end(), tokens.begin(), tokens.end() - 1);
  batch.targets.insert(batch.targets.end(), tokens.begin() + 1, tokens.end());
  batch.windows.push_back(window);
  batch.batch_size += 1;
  batch.seq_len = seq_len;
}

}  // namespace kachi
