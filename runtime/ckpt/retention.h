// Which committed checkpoints to keep: the newest keep_last, every step that is a multiple of keep_every, and
// always the newest (so the only complete checkpoint is never deleted).
#ifndef KACHI_RUNTIME_CKPT_RETENTION_H_
#define KACHI_RUNTIME_CKPT_RETENTION_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace kachi::ckpt {

// How many checkpoints to keep (config: checkpoint.keep_last, checkpoint.keep_every).
struct RetentionPolicy {
  int keep_last = 3;   // values < 1 count as 1
  int keep_every = 0;  // 0: no periodic keeps
};

// The steps of `complete` (ascending or not) that the policy deletes.
std::vector<int64_t> StepsToDelete(const std::vector<int64_t>& complete, const RetentionPolicy& policy);

// Deletes from DIR the committed step directories the policy drops and the temporary directories of interrupted
// saves (.tmp_step_*). Call only while no save into DIR is in flight. Returns the first error, after trying all.
absl::Status ApplyRetention(const std::string& dir, const RetentionPolicy& policy);

}  // namespace kachi::ckpt

#endif  // KACHI_RUNTIME_CKPT_RETENTION_H_
