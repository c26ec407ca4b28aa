// What one rank puts in its shard file, copied out of the live training state so training can go on while a
// background thread writes it: parameters (data-parallel rank 0 only: replicas are identical) and AdamW moments
// of the rank's optimizer range (every rank with ZeRO-1, data-parallel rank 0 without), as raw little-endian fp32
// segments recorded in a ShardRecord.
#ifndef KACHI_RUNTIME_CKPT_SHARD_SNAPSHOT_H_
#define KACHI_RUNTIME_CKPT_SHARD_SNAPSHOT_H_

#include <cstdint>
#include <string>

#include "runtime/proto/checkpoint.pb.h"
#include "runtime/model/model_ops.h"
#include "runtime/train/optimizer.h"

namespace kachi::ckpt {

// Where a rank sits and what it holds.
struct ShardSource {
  int rank = 0;      // rank in the grid's world
  int dp_rank = 0;
  int tp_rank = 0;
  bool zero1 = false;        // optimizer ranges differ across data-parallel ranks
  int64_t model_size = 0;    // elements of the layout (flat buffer without ZeRO padding)
  const float* params = nullptr;
  // fp32 master weights of the optimizer's range (element 0 = range().begin) when training in mixed precision
  // (params then hold bf16 working copies); null when params are the fp32 master themselves.
  const float* master = nullptr;
  ShardedAdamW* optimizer = nullptr;  // read only (its moment accessors are non-const)
  ModelOps* ops = nullptr;   // whose memory params and moments live in (null: host memory)
};

// A rank's shard: the bytes to write and their description (bytes and crc32 are filled in by the writer).
struct ShardSnapshot {
  std::string bytes;
  ShardRecord record;
};

// Copies `source`'s state into `snapshot`, reusing its buffer's capacity (one host copy, no allocation after the
// first save of a run).
absl::Status TakeShardSnapshot(const ShardSource& source, ShardSnapshot* snapshot);

}  // namespace kachi::ckpt

#endif  // KACHI_RUNTIME_CKPT_SHARD_SNAPSHOT_H_
