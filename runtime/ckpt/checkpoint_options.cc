// Checkpoint options from the config (see checkpoint_options.h).
#include "runtime/ckpt/checkpoint_options.h"

#include "absl/strings/str_cat.h"

namespace kachi::ckpt {

absl::StatusOr<CheckpointOptions> CheckpointOptionsFromConfig(const config::CheckpointConfig& config) {
  if (config.every() < 0) {
    return absl::InvalidArgumentError(absl::StrCat("checkpoint.every = ", config.every(), ", expected >= 0"));
  }
  if (config.keep_last() < 1) {
    return absl::InvalidArgumentError(absl::StrCat("checkpoint.keep_last = ", config.keep_last(),
                                                   ", expected >= 1 (the newest checkpoint is always kept)"));
  }
  if (config.keep_every() < 0) {
    return absl::InvalidArgumentError(absl::StrCat("checkpoint.keep_every = ", config.keep_every(), ", expected >= 0"));
  }
  if (!(config.commit_timeout_s() > 0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("checkpoint.commit_timeout_s = ", config.commit_timeout_s(), ", expected > 0"));
  }
  CheckpointOptions options;
  options.dir = config.dir();
  options.every = config.every();
  options.retention = RetentionPolicy{config.keep_last(), config.keep_every()};
  options.async = config.async();
  options.commit_timeout_s = config.commit_timeout_s();
  options.snapshot.device_staging = config.device_snapshot();
  return options;
}

}  // namespace kachi::ckpt
