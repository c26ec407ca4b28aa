// ShardSink (see shard_sink.h).
#include "runtime/data/shard_sink.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_format.h"
#include "runtime/data/token_shard.h"

namespace kachi {

std::string ShardPath(const std::string& dir, const std::string& prefix, int64_t index) {
  return absl::StrFormat("%s/%s_%06d.bin", dir, prefix, index);
}

ShardSink::ShardSink(std::string dir, std::string prefix, int64_t shard_tokens)
    : dir_(std::move(dir)), prefix_(std::move(prefix)), shard_tokens_(std::max<int64_t>(shard_tokens, 1)) {}

absl::Status ShardSink::Append(absl::Span<const uint16_t> tokens) {
  total_tokens_ += static_cast<int64_t>(tokens.size());
  while (!tokens.empty()) {
    const size_t room = static_cast<size_t>(shard_tokens_) - pending_.size();
    const size_t take = std::min(room, tokens.size());
    pending_.insert(pending_.end(), tokens.begin(), tokens.begin() + take);
    tokens.remove_prefix(take);
    if (pending_.size() == static_cast<size_t>(shard_tokens_)) {
      if (absl::Status status = Flush(); !status.ok()) return status;
    }
  }
  return absl::OkStatus();
}

absl::Status ShardSink::Finish() {
  if (pending_.empty()) return absl::OkStatus();
  return Flush();
}

absl::Status ShardSink::Flush() {
  std::string path = ShardPath(dir_, prefix_, static_cast<int64_t>(shard_paths_.size()));
  if (absl::Status status = WriteTokenShard(path, pending_); !status.ok()) return status;
  shard_paths_.push_back(std::move(path));
  pending_.clear();
  return absl::OkStatus();
}

}  // namespace kachi
