// Raw file I/O of checkpoint shards: a synced write that computes the zlib CRC32 on the way, a streaming digest
// (size + CRC32) for verification, positioned reads, and directory fsync. Errors name the path and the system call.
#ifndef KACHI_RUNTIME_CKPT_SHARD_IO_H_
#define KACHI_RUNTIME_CKPT_SHARD_IO_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace kachi::ckpt {

// Size and zlib crc32 of a file's bytes.
struct FileDigest {
  int64_t bytes = 0;
  uint32_t crc32 = 0;
};

// A pause inside a write, for tests that kill a process mid-save: after `after_bytes` bytes are written the writer
// sleeps `seconds` (disabled when seconds <= 0).
struct WritePause {
  int64_t after_bytes = 0;
  double seconds = 0;
};

// zlib crc32 of `bytes`, continuing from `crc` (0 to start).
uint32_t Crc32(absl::string_view bytes, uint32_t crc = 0);

// Creates (truncates) `path`, writes `bytes`, fsyncs and closes it; returns its digest (computed while writing:
// WriteChunkedFile over bytes already in host memory).
absl::StatusOr<FileDigest> WriteSyncedFile(const std::string& path, absl::string_view bytes,
                                           const WritePause& pause = {});

// Streams `path` and returns its size and crc32.
absl::StatusOr<FileDigest> DigestFile(const std::string& path);

// Reads exactly `size` bytes at `offset` of `path` into `out`; DataLoss when the file is shorter.
absl::Status ReadFileRange(const std::string& path, int64_t offset, int64_t size, void* out);

// fsyncs directory `path` so the entries created or renamed in it are durable.
absl::Status SyncDirectory(const std::string& path);

}  // namespace kachi::ckpt

#endif  // KACHI_RUNTIME_CKPT_SHARD_IO_H_
