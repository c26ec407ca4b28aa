// A manifest that cannot lie: its seal (a crc32 of the file's own bytes, written last) and the structural checks
// every manifest passes before any shard byte is read: version, step (= the directory's), layout and model shape
// within bounds, the tensor records exactly those the saved shape and tensor-parallel width give (so the pieces
// tile every tensor and sit inside the flat buffers), and the shard records: one per rank, plain file names, every
// segment inside its shard and its flat buffer, segments of one kind and tp rank disjoint and covering every
// tensor. A failure is DataLoss naming the manifest file and what differs.
#ifndef KACHI_RUNTIME_CKPT_MANIFEST_CHECK_H_
#define KACHI_RUNTIME_CKPT_MANIFEST_CHECK_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "runtime/proto/checkpoint.pb.h"

namespace kachi::ckpt {

// The file bytes of `manifest`: its serialization without manifest_crc32, then that field (tag + 4 bytes) holding
// the crc32 of everything before it.
std::string SealManifest(const Manifest& manifest);

// Whether `bytes` (the file `path`, parsed as `manifest`) is sealed: OK with *sealed = true when the last 5 bytes
// are the manifest_crc32 field and it matches the crc32 of the bytes before it; OK with *sealed = false when the
// manifest has no such field (written before seals); DataLoss naming the path and both checksums otherwise.
absl::Status CheckManifestSeal(const std::string& path, absl::string_view bytes, const Manifest& manifest,
                               bool* sealed);

// The structural checks above for the manifest of step directory `step_dir` (the file name is used in messages;
// the step must match the directory's name when it is a step_XXXXXXXX name). Reads no file.
absl::Status ValidateManifest(const std::string& step_dir, const Manifest& manifest);

}  // namespace kachi::ckpt

#endif  // KACHI_RUNTIME_CKPT_MANIFEST_CHECK_H_
