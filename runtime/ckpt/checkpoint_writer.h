// CheckpointWriter: saves a Trainer's state as sharded checkpoints (commit.h's protocol), asynchronously by default.
// A save first copies this rank's parameters and AdamW moments aside on the training thread (the snapshot: a
// device-to-device copy into a staging buffer on a GPU, a host copy on the CPU; shard_snapshot.h), then a
// background thread downloads, checksums and writes the shard in overlapped chunks (chunked_write.h) and, on rank
// 0, commits the checkpoint and applies the retention policy, while training continues. At most one save is in
// flight: the next save first waits for it. The stall a save costs the step (waiting for the previous save +
// the snapshot) is returned and logged by the trainer (ckpt_stall_ms). Snapshot buffers (on a GPU: one shard's
// size of device memory unless options.snapshot.device_staging is off, plus 2 pinned chunk buffers) are allocated
// at the first save and kept until the writer is destroyed; the trainer's ModelOps must outlive the writer.
//
// Test hook: options.test_pause (checkpoint_options.h; `kachi train --test_ckpt_pause N:S`) makes the writer of step
// N's shard sleep S seconds halfway through the file (tests kill the process there).
#ifndef KACHI_RUNTIME_CKPT_CHECKPOINT_WRITER_H_
#define KACHI_RUNTIME_CKPT_CHECKPOINT_WRITER_H_

#include <cstdint>
#include <mutex>
#include <optional>
#include <ostream>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "comm/process_grid.h"
#include "runtime/ckpt/checkpoint_options.h"
#include "runtime/ckpt/shard_snapshot.h"
#include "runtime/proto/checkpoint.pb.h"
#include "runtime/proto/config.pb.h"
#include "runtime/train/trainer.h"

namespace kachi::ckpt {

class CheckpointWriter {
 public:
  // A writer for the ranks of `grid` (which must outlive it). `config` (may be null) is stored in every manifest;
  // rank 0 prints commit lines to `log` (may be null).
  CheckpointWriter(CheckpointOptions options, ProcessGrid* grid, const config::KachiConfig* config = nullptr,
                   std::ostream* log = nullptr);
  // Waits for the save in flight (its error, if any, is lost: call Finish to see it).
  ~CheckpointWriter();
  CheckpointWriter(const CheckpointWriter&) = delete;
  CheckpointWriter& operator=(const CheckpointWriter&) = delete;

  // Collective over grid->world(), after every optimizer step: saves when the steps completed are a multiple of
  // options.every or equal the run's last step. Returns the seconds the step stalled (0 without a save).
  absl::StatusOr<double> AfterStep(Trainer& trainer);
  // Collective: saves the trainer's state now. Waits for the previous save, and fails on every rank if that save
  // failed on any rank. Returns the stall in seconds (with async off: the whole save).
  absl::StatusOr<double> Save(Trainer& trainer);
  // Collective: waits for the save in flight; an error on every rank if it failed on any.
  absl::Status Finish();

  // Saves started so far, and the stall of the last one (seconds).
  int64_t saves_started() const { return saves_started_; }
  double last_stall_seconds() const { return last_stall_seconds_; }

 private:
  // Joins the background thread and returns its status (OK when none ran).
  absl::Status JoinWorker();
  // Every rank learns whether `status` failed anywhere; returns an error naming the failing rank when it did.
  absl::Status Agree(const absl::Status& status, const char* what);
  // The manifest without shard records (rank 0).
  Manifest ManifestHeader(Trainer& trainer) const;
  // The background part of a save: write the shard; on rank 0, commit and apply retention.
  absl::Status WriteAndCommit(const std::string& temp_dir, int64_t step, Manifest header);
  // Prints the last commit line, if one is pending (rank 0).
  void PrintCommitNote();

  CheckpointOptions options_;
  ProcessGrid* grid_;
  std::optional<config::KachiConfig> config_;
  std::ostream* log_;

  ShardSnapshot snapshot_;
  std::thread worker_;
  absl::Status worker_status_;
  std::mutex note_mutex_;
  std::string commit_note_;
  int64_t saves_started_ = 0;
  double last_stall_seconds_ = 0;
};

}  // namespace kachi::ckpt

#endif  // KACHI_RUNTIME_CKPT_CHECKPOINT_WRITER_H_
