// ShardSink (see shard_sink.h).
#include "runtime/data/shard_sink.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "runtime/data/token_shard.h"

namespace kachi {

std::string ShardPath(const std::string& dir, const std::string& prefix, int64_t index) {
  return absl::StrFormat("%s/%s_%06d.bin", dir, prefix, index);
}

ShardSink::ShardSink(std::string dir, std::string prefix, int64_t shard_tokens, bool wide)
    : dir_(std::move(dir)),
      prefix_(std::move(prefix)),
      shard_tokens_(std::max<int64_t>(shard_tokens, 1)),
      wide_(wide) {}

absl::Status ShardSink::Append(absl::Span<const int32_t> ids) {
  for (size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] < 0 || (!wide_ && ids[i] > 65535)) {
      return absl::InvalidArgumentError(absl::StrCat("token id ", ids[i], " does not fit a ",
                                                     wide_ ? "uint32" : "uint16", " shard"));
    }
  }
  total_tokens_ += static_cast<int64_t>(ids.size());
  while (!ids.empty()) {
    const size_t have = wide_ ? pending_wide_.size() : pending_.size();
    const size_t take = std::min(static_cast<size_t>(shard_tokens_) - have, ids.size());
    if (wide_) {
      pending_wide_.insert(pending_wide_.end(), ids.begin(), ids.begin() + take);
    } else {
      pending_.insert(pending_.end(), ids.begin(), ids.begin() + take);
    }
    ids.remove_prefix(take);
    if (have + take == static_cast<size_t>(shard_tokens_)) {
      if (absl::Status status = Flush(); !status.ok()) return status;
    }
  }
  return absl::OkStatus();
}

absl::Status ShardSink::Append(absl::Span<const uint16_t> tokens) {
  if (wide_) {
    const std::vector<int32_t> ids(tokens.begin(), tokens.end());
    return Append(absl::Span<const int32_t>(ids));
  }
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
  if (pending_.empty() && pending_wide_.empty()) return absl::OkStatus();
  return Flush();
}

absl::Status ShardSink::Flush() {
  std::string path = ShardPath(dir_, prefix_, static_cast<int64_t>(shard_paths_.size()));
  const absl::Status status = wide_ ? WriteTokenShardU32(path, pending_wide_) : WriteTokenShard(path, pending_);
  if (!status.ok()) return status;
  shard_paths_.push_back(std::move(path));
  pending_.clear();
  pending_wide_.clear();
  return absl::OkStatus();
}

}  // namespace kachi
