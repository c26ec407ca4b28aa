// Checking a checkpoint's shard files against its manifest: each shard must exist, have the recorded byte size
// and crc32, and hold the segments the manifest places in it. Problems name the file.
#ifndef KACHI_RUNTIME_CKPT_VERIFY_H_
#define KACHI_RUNTIME_CKPT_VERIFY_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/proto/checkpoint.pb.h"

namespace kachi::ckpt {

// Problems of the shards i with i % parts == part (so `parts` ranks can split the reading); empty when they match.
std::vector<std::string> VerifyShards(const std::string& step_dir, const Manifest& manifest, int part = 0,
                                      int parts = 1);

// On one process: the newest loadable step directory of DIR (LoadCandidates order: `latest` first, then older),
// with its manifest read and every shard verified. Each directory passed over is added to `skipped` (may be null)
// with its first problem. NotFound when DIR holds no step directory, DataLoss when none is loadable.
absl::StatusOr<std::string> FindLoadableCheckpoint(const std::string& dir, std::vector<std::string>* skipped);

}  // namespace kachi::ckpt

#endif  // KACHI_RUNTIME_CKPT_VERIFY_H_
