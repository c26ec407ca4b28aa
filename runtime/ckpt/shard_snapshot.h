// What one rank puts in its shard file, copied aside from the live training state so training can go on while a
// background thread writes it: parameters and AdamW moments of the rank's optimizer range, as raw little-endian
// fp32 segments recorded in a ShardRecord. Which rank writes what:
//   - AdamW moments of [range.begin, min(range.end, model_size)): every rank with ZeRO-1, data-parallel rank 0
//     without (ZeRO padding past model_size is always zero and not saved);
//   - parameters, without master weights: the whole flat buffer [0, model_size), by data-parallel rank 0 only
//     (replicas are identical);
//   - parameters, with fp32 master weights (mixed precision): the master values of the same range as the moments,
//     by every rank that writes moments (the reader assembles PARAMS from several shards by flat range).
//
// A snapshot is taken in two phases. On the training thread (the stall): device state is copied device-to-device
// into a staging buffer and the stream synchronized (about a millisecond for GPT-2 124M on an H100), host state is
// copied into a host buffer. On the writer's thread: Fetch hands the bytes out chunk by chunk to the pipelined
// writer (chunked_write.h), downloading device chunks into pinned chunk buffers on a private stream. All buffers
// are allocated at the first save and reused; the device staging buffer costs one shard's size in device memory
// (SnapshotOptions::device_staging = false instead downloads synchronously into pinned host memory at save time).
#ifndef KACHI_RUNTIME_CKPT_SHARD_SNAPSHOT_H_
#define KACHI_RUNTIME_CKPT_SHARD_SNAPSHOT_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "runtime/ckpt/chunked_write.h"
#include "runtime/ckpt/snapshot_memory.h"
#include "runtime/model/model_ops.h"
#include "runtime/proto/checkpoint.pb.h"
#include "runtime/train/optimizer.h"

namespace kachi::ckpt {

// Where a rank sits and what it holds.
struct ShardSource {
  int rank = 0;  // rank in the grid's world
  int dp_rank = 0;
  int tp_rank = 0;
  bool zero1 = false;      // optimizer ranges differ across data-parallel ranks
  int64_t model_size = 0;  // elements of the layout (flat buffer without ZeRO padding)
  const float* params = nullptr;
  // fp32 master weights of the optimizer's range (element 0 = range().begin) when training in mixed precision
  // (params then hold bf16 working copies); null when params are the fp32 master themselves.
  const float* master = nullptr;
  ShardedAdamW* optimizer = nullptr;  // read only (its moment accessors are non-const)
  DeviceContext* ops = nullptr;       // whose memory params, master and moments live in (null: host memory)
};

// How snapshots are taken and written.
struct SnapshotOptions {
  // Device state: stage a device-side copy (costs one shard's size of device memory; the writer downloads it). When
  // false, the training thread downloads the shard into pinned host memory (a longer stall, no device memory).
  bool device_staging = true;
  // Bytes per chunk of the writer's download / crc32 / write pipeline.
  int64_t chunk_bytes = 64 << 20;
  // crc32 of a chunk on its own thread, concurrently with that chunk's write (false: serially before the write).
  bool overlap_crc = true;
  // Start the disk write-back of each chunk once written (ChunkedWriteOptions::start_writeback).
  bool start_writeback = true;
};

// A rank's shard copied aside: its record (bytes and crc32 are filled in by the writer) and its bytes, in host
// memory or in a device staging buffer. Keeps its buffers for the next save; frees them (through the DeviceContext that
// allocated them, which must outlive the snapshot) when destroyed.
class ShardSnapshot {
 public:
  ShardSnapshot() = default;
  ShardSnapshot(const ShardSnapshot&) = delete;
  ShardSnapshot& operator=(const ShardSnapshot&) = delete;

  // Phase one, on the training thread: copies `source`'s state aside (see the file comment). Replaces the previous
  // snapshot, so the previous write must be over.
  absl::Status Take(const ShardSource& source, const SnapshotOptions& options = {});

  const ShardRecord& record() const { return record_; }
  // Bytes of the shard file.
  int64_t size() const { return size_; }
  // True when the bytes wait in a device staging buffer.
  bool on_device() const { return ops_ != nullptr; }

  // Phase two, on the writer's thread: a ChunkFetch over the shard's bytes (downloads staged chunks into pinned
  // buffers), and the options of the pipelined write that go with it.
  absl::StatusOr<const char*> Fetch(int64_t offset, int64_t size, int slot);
  ChunkedWriteOptions WriteOptions() const;

 private:
  ShardRecord record_;
  int64_t size_ = 0;
  SnapshotOptions options_;
  DeviceContext* ops_ = nullptr;                  // set while the bytes are staged in device memory
  SnapshotBuffer staging_{SnapshotMemory::kOps};  // device copy of the shard
  SnapshotBuffer chunks_{SnapshotMemory::kHost};  // pinned chunk buffers the writer downloads into
  // The shard in host memory (host state, or device state without staging).
  SnapshotBuffer host_{SnapshotMemory::kHost};
};

// Phase one of `snapshot` (ShardSnapshot::Take).
absl::Status TakeShardSnapshot(const ShardSource& source, const SnapshotOptions& options, ShardSnapshot* snapshot);

}  // namespace kachi::ckpt

#endif  // KACHI_RUNTIME_CKPT_SHARD_SNAPSHOT_H_
