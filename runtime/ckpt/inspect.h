// `kachi ckpt inspect`: a human-readable account of a checkpoint directory (or one step directory): every step
// with its state (complete and sound, damaged with the reason, incomplete), layout, loader position and sizes; the
// tensors of the newest sound checkpoint with their global shapes and pieces; each shard's size and checksum status.
#ifndef KACHI_RUNTIME_CKPT_INSPECT_H_
#define KACHI_RUNTIME_CKPT_INSPECT_H_

#include <string>

#include "absl/status/statusor.h"

namespace kachi::ckpt {

// The report for `path` (reads every shard to check its crc32). NotFound when `path` is neither a step directory
// nor a directory holding step directories. `sound` (may be null) is set to whether every step directory is
// complete and sound and `latest` (when present) names one of them: `kachi ckpt inspect` exits 3 otherwise.
// `brief` leaves out the shard and tensor tables (`kachi ckpt check`).
absl::StatusOr<std::string> InspectCheckpoints(const std::string& path, bool* sound = nullptr, bool brief = false);

}  // namespace kachi::ckpt

#endif  // KACHI_RUNTIME_CKPT_INSPECT_H_
