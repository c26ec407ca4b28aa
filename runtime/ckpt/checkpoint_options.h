// CheckpointOptions: where and how a run saves checkpoints, independent of how it was configured (`kachi train`
// fills it from the config's checkpoint section; tests fill it directly).
#ifndef KACHI_RUNTIME_CKPT_CHECKPOINT_OPTIONS_H_
#define KACHI_RUNTIME_CKPT_CHECKPOINT_OPTIONS_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "runtime/ckpt/retention.h"
#include "runtime/ckpt/shard_snapshot.h"
#include "runtime/proto/config.pb.h"

namespace kachi::ckpt {

// Test-only hook (`kachi train --test_ckpt_pause STEP:SECONDS`, tests/ckpt/kill_test.sh): the writer of step
// `step`'s shard sleeps `seconds` halfway through the file, so a test can kill the process mid-save. Off when
// `step` < 0 (the default).
struct CheckpointTestPause {
  int64_t step = -1;
  double seconds = 0;
};

// Where and how checkpoints are saved (CheckpointWriter).
struct CheckpointOptions {
  // Directory of the run's checkpoints (shared by every rank's file system).
  std::string dir;
  // Save after every `every` optimizer steps (0: only after the last step); the last step is always saved.
  int64_t every = 0;
  RetentionPolicy retention;
  // Write from a background thread while training continues.
  bool async = true;
  // Seconds rank 0 waits for every rank's shard before failing the save.
  double commit_timeout_s = 600;
  // How the snapshot is taken and written (device staging, chunk size, crc32 overlap; shard_snapshot.h).
  SnapshotOptions snapshot;
  // Test-only: pause the write of one step's shard (off by default).
  CheckpointTestPause test_pause;
};

// The options of config section `checkpoint`; InvalidArgument naming the field for negative counts or timeouts.
absl::StatusOr<CheckpointOptions> CheckpointOptionsFromConfig(const config::CheckpointConfig& config);

}  // namespace kachi::ckpt

#endif  // KACHI_RUNTIME_CKPT_CHECKPOINT_OPTIONS_H_
