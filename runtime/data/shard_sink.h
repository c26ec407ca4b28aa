// ShardSink: streams tokens into numbered llm.c shards DIR/PREFIX_000000.bin, DIR/PREFIX_000001.bin, ... of at most
// `shard_tokens` tokens each (the last one may be shorter), as uint16 shards or, when `wide`, llm.c's uint32 variant.
// Used by the text-to-shard tool.
#ifndef KACHI_RUNTIME_DATA_SHARD_SINK_H_
#define KACHI_RUNTIME_DATA_SHARD_SINK_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/types/span.h"

namespace kachi {

// The llm.c-style name of shard `index`: "DIR/PREFIX_%06d.bin".
std::string ShardPath(const std::string& dir, const std::string& prefix, int64_t index);

// Buffers appended tokens and writes a shard each time `shard_tokens` have accumulated.
class ShardSink {
 public:
  // Shards go to `dir` (which must exist) named after `prefix`; `shard_tokens` must be > 0. `wide`: write uint32
  // shards (WriteTokenShardU32) instead of uint16 ones.
  ShardSink(std::string dir, std::string prefix, int64_t shard_tokens, bool wide = false);

  // Adds tokens, writing every shard that fills up.
  absl::Status Append(absl::Span<const uint16_t> tokens);
  // Adds token ids (from a BPE tokenizer); InvalidArgument for an id < 0, or > 65535 in a uint16 sink.
  absl::Status Append(absl::Span<const int32_t> ids);
  // Writes the last, partial shard if any tokens are pending. Call once at the end.
  absl::Status Finish();

  // Paths written so far, in order.
  const std::vector<std::string>& shard_paths() const { return shard_paths_; }
  // Tokens appended so far (written or pending).
  int64_t total_tokens() const { return total_tokens_; }

 private:
  absl::Status Flush();

  std::string dir_;
  std::string prefix_;
  int64_t shard_tokens_;
  bool wide_ = false;
  std::vector<uint16_t> pending_;
  std::vector<uint32_t> pending_wide_;
  std::vector<std::string> shard_paths_;
  int64_t total_tokens_ = 0;
};

}  // namespace kachi

#endif  // KACHI_RUNTIME_DATA_SHARD_SINK_H_
