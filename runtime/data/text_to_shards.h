// Turns text files into byte-level train/val token shards (the engine of `kachi data`).
//
// Split rule (deterministic, no randomness): each input file of n bytes contributes its first
// n - floor(n * val_fraction) bytes to the train stream and its last floor(n * val_fraction) bytes to the val
// stream. Files are taken in the given order and concatenated without separators (the byte vocabulary has no
// spare end-of-text token). Each stream is cut into shards of `shard_tokens` tokens, named as llm.c does:
// DIR/train_000000.bin, DIR/train_000001.bin, ..., DIR/val_000000.bin, ... An empty stream writes no shard.
#ifndef KACHI_RUNTIME_DATA_TEXT_TO_SHARDS_H_
#define KACHI_RUNTIME_DATA_TEXT_TO_SHARDS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace kachi {

// What to convert and where.
struct TextToShardsOptions {
  // Input text files, in order.
  std::vector<std::string> input_files;
  // Output directory; created if missing. Must not already hold train_*.bin or val_*.bin shards.
  std::string out_dir;
  // Fraction of each file held out for validation, in [0, 1).
  double val_fraction = 0.1;
  // Tokens per shard (> 0, at most 2^31 - 1). llm.c's default is 10^8.
  int64_t shard_tokens = 100000000;
};

// What was written.
struct TextToShardsResult {
  int64_t train_tokens = 0;
  int64_t val_tokens = 0;
  std::vector<std::string> train_shards;
  std::vector<std::string> val_shards;
};

// Converts the inputs; errors name the offending file or option.
absl::StatusOr<TextToShardsResult> TextToShards(const TextToShardsOptions& options);

}  // namespace kachi

#endif  // KACHI_RUNTIME_DATA_TEXT_TO_SHARDS_H_
