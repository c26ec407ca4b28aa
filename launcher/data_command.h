// `kachi data`: text files to byte-level llm.c token shards.
//
//   kachi data --out DIR [--val_fraction 0.1] [--shard_tokens N] FILE...
//
// Options come from the absl flags --data_out, --data_val_fraction and --data_shard_tokens (parsed by main), and
// may also appear among the positional arguments as --out, --val_fraction, --shard_tokens (as "--name value" or
// "--name=value"), which override the flags. The split rule is described in text_to_shards.h.
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
