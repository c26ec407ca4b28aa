// `kachi data`: text files to llm.c token shards, byte-level or through a BPE tokenizer.
//
//   kachi data --out DIR [--val_fraction 0.1] [--shard_tokens N] [--tokenizer DIR] [--threads N] FILE...
//
// Options come from the absl flags --data_out, --data_val_fraction, --data_shard_tokens, --data_tokenizer and
// --data_threads (parsed by main), and may also appear among the positional arguments as --out, --val_fraction,
// --shard_tokens, --tokenizer, --threads (as "--name value" or "--name=value"), which override the flags. Threads
// default to all hardware threads; a progress line goes to stderr for inputs above 16 MiB. The split rule is described in text_to_shards.h.
#ifndef KACHI_LAUNCHER_DATA_COMMAND_H_
#define KACHI_LAUNCHER_DATA_COMMAND_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/data/text_to_shards.h"

namespace kachi {

// Builds the conversion options from the absl flags and then `args` (see above). InvalidArgument for an unknown
// option, a missing or malformed value.
absl::StatusOr<TextToShardsOptions> ParseDataCommandArgs(const std::vector<std::string>& args);

// Runs `kachi data`: converts, prints token and shard counts per split, returns 0; prints the error and returns 1
// on failure (2 for bad usage).
int DataCommand(const std::vector<std::string>& args);

}  // namespace kachi

#endif  // KACHI_LAUNCHER_DATA_COMMAND_H_
