// The pipelined shard write: a file of `size` bytes is written in chunks that a fetch stage brings into host memory
// (a device download into a pinned chunk buffer, or a pointer into bytes already on the host), while a CRC stage
// folds each chunk into the file's zlib crc32 and the write stage writes it: fetch of chunk k+1, crc32 of chunk k
// and write of chunk k run on three threads at once, so neither the download nor the checksum is a separate pass;
// each written chunk's write-back to disk is started at once (sync_file_range) rather than left to the final fsync.
// The file is fsynced before the digest is returned. Errors name the path and what failed.
#ifndef KACHI_RUNTIME_CKPT_CHUNKED_WRITE_H_
#define KACHI_RUNTIME_CKPT_CHUNKED_WRITE_H_

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "runtime/ckpt/shard_io.h"

namespace kachi::ckpt {

// Makes bytes [offset, offset + size) of the file readable in host memory and returns where; may use buffer slot
// `slot` (0 <= slot < ChunkedWriteOptions::slots), which the pipeline does not hand out again until the chunk that
// used it has been checksummed and written. Called from one thread, in chunk order.
using ChunkFetch = std::function<absl::StatusOr<const char*>(int64_t offset, int64_t size, int slot)>;

// How a chunked write runs.
struct ChunkedWriteOptions {
  // Bytes per chunk (the last one may be shorter); at most 1 GiB (zlib's crc32 takes a 32-bit length).
  int64_t chunk_bytes = 64 << 20;
  // Chunk buffers the fetch stage cycles through (>= 1); with 2, chunk k+1 is fetched while chunk k is written.
  int slots = 2;
  // crc32 on its own thread, concurrently with the write of the same chunk (false: before each write, serially).
  bool overlap_crc = true;
  // After each chunk's write, ask the kernel to start writing it back (sync_file_range), so the disk works while
  // later chunks are written instead of only during the final fsync (false: leave it to the kernel and fsync).
  bool start_writeback = true;
  // Test hook (shard_io.h).
  WritePause pause;
};

// Creates (truncates) `path`, writes the `size` bytes `fetch` provides, fsyncs and closes it; returns its size and
// crc32. A failed fetch, write or fsync ends every stage (no thread is left behind) and returns the error with the
// path; the partial file is left for the caller to discard.
absl::StatusOr<FileDigest> WriteChunkedFile(const std::string& path, int64_t size, const ChunkFetch& fetch,
                                            const ChunkedWriteOptions& options = {});

}  // namespace kachi::ckpt

#endif  // KACHI_RUNTIME_CKPT_CHUNKED_WRITE_H_
