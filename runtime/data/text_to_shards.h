// Turns text files into byte-level train/val token shards (the engine of `kachi data`).
//
// Split rule (deterministic, no randomness): each input file of n bytes contributes its first
// n - floor(n * val_fraction) bytes to the train stream and its last floor(n * val_fraction) bytes to the val
// stream. Files are taken in the given order and concatenated without separators (the byte vocabulary has no
// spare end-of-text token). Each stream is cut into shards of `shard_tokens` tokens, named as llm.c does:
// DIR/train_000000.bin, DIR/train_000001.bin, ..., DIR/val_000000.bin, ... An empty stream writes no shard.
//
// With a BPE tokenizer (options.tokenizer, see bpe_tokenizer.h) each file is encoded on options.threads threads,
// preceded by <|endoftext|> when the tokenizer has that added token (llm.c's document separator), and the split
// rule applies to the file's tokens instead of its bytes: the last floor(tokens * val_fraction) go to val. Shards
// hold uint16 tokens, or llm.c's uint32 variant (token_shard.h) when the vocabulary exceeds 65,536 ids.
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
  // A tokenizer.json file or a directory with tokenizer.json or vocab.json + merges.txt; empty = byte tokenizer.
  std::string tokenizer;
  // Encoding threads for the BPE tokenizer (>= 1).
  int threads = 1;
  // Bytes per encoding chunk (threads take chunks; cuts are made only where they cannot change the ids).
  int64_t chunk_bytes = int64_t{1} << 20;
  // Print a progress line to stderr while encoding files above 16 MiB.
  bool progress = false;
};

// What was written.
struct TextToShardsResult {
  int64_t train_tokens = 0;
  int64_t val_tokens = 0;
  std::vector<std::string> train_shards;
  std::vector<std::string> val_shards;
  // The tokenizer's vocabulary size (256 for bytes) and whether the shards are the uint32 variant.
  int vocab_size = 256;
  bool wide = false;
  // Input bytes and the seconds spent encoding them.
  int64_t input_bytes = 0;
  double encode_seconds = 0;
};

// Converts the inputs; errors name the offending file or option.
absl::StatusOr<TextToShardsResult> TextToShards(const TextToShardsOptions& options);

}  // namespace kachi

#endif  // KACHI_RUNTIME_DATA_TEXT_TO_SHARDS_H_
