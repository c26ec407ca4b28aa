// The file-system protocol of one save. Every rank writes its shard into the save's temporary directory, syncs
// it, and then writes a small record (its ShardRecord with size and crc32) beside it. Rank 0 waits for all
// records, writes the manifest, syncs the directory, renames it to step_XXXXXXXX, syncs DIR and atomically
// replaces DIR/latest. A crash at any point before the rename leaves only a .tmp_ directory, which loaders ignore;
// a crash between the rename and `latest` leaves a complete checkpoint that `latest` does not name yet.
// The ranks must share DIR's file system.
#ifndef KACHI_RUNTIME_CKPT_COMMIT_H_
#define KACHI_RUNTIME_CKPT_COMMIT_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "runtime/ckpt/shard_io.h"
#include "runtime/ckpt/shard_snapshot.h"
#include "runtime/proto/checkpoint.pb.h"

namespace kachi::ckpt {

// Writes `snapshot` as its shard file in `temp_dir` (created if needed) through the pipelined chunked write
// (download, crc32 and write overlapped), then its record; returns the record with bytes and crc32 filled in.
absl::StatusOr<ShardRecord> WriteShard(const std::string& temp_dir, ShardSnapshot* snapshot,
                                       const WritePause& pause = {});

// Tells the committing rank that this rank's shard could not be written (so it stops waiting): writes
// "<record>.failed" holding `error`'s message into `temp_dir`. Best effort.
void ReportShardFailure(const std::string& temp_dir, int rank, const absl::Status& error);

// Polls `temp_dir` until the records of ranks [0, world_size) are all there (returned in rank order). Fails when a
// rank reported a failure, or after timeout_s naming the ranks that never reported.
absl::StatusOr<std::vector<ShardRecord>> WaitForShardRecords(const std::string& temp_dir, int world_size,
                                                             double timeout_s);

// Rank 0's commit of a save whose shards are all in `temp_dir`: adds `records` to `manifest`, writes it, and
// publishes the directory as DIR/step_<manifest.step()> and in DIR/latest (replacing an older directory of the
// same step, if any).
absl::Status CommitCheckpoint(const std::string& dir, const std::string& temp_dir, Manifest manifest,
                              const std::vector<ShardRecord>& records);

}  // namespace kachi::ckpt

#endif  // KACHI_RUNTIME_CKPT_COMMIT_H_
