// Retention of committed checkpoints (see retention.h).
#include "runtime/ckpt/retention.h"

#include <algorithm>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "runtime/ckpt/checkpoint_paths.h"

namespace kachi::ckpt {

namespace fs = std::filesystem;

std::vector<int64_t> StepsToDelete(const std::vector<int64_t>& complete, const RetentionPolicy& policy) {
  std::vector<int64_t> steps = complete;
  std::sort(steps.begin(), steps.end());
  const size_t keep_last = static_cast<size_t>(std::max(1, policy.keep_last));
  std::vector<int64_t> doomed;
  for (size_t i = 0; i + keep_last < steps.size(); ++i) {
    if (policy.keep_every > 0 && steps[i] % policy.keep_every == 0) continue;
    doomed.push_back(steps[i]);
  }
  return doomed;
}

absl::Status ApplyRetention(const std::string& dir, const RetentionPolicy& policy) {
  absl::Status first_error = absl::OkStatus();
  auto remove = [&](const fs::path& path) {
    std::error_code error;
    fs::remove_all(path, error);
    if (error && first_error.ok()) {
      first_error = absl::InternalError(absl::StrCat("cannot delete old checkpoint '", path.string(), "': ",
                                                     error.message()));
    }
  };
  for (int64_t step : StepsToDelete(ListStepsWithManifest(dir), policy)) remove(StepDirPath(dir, step));
  std::error_code error;
  for (const fs::directory_entry& entry : fs::directory_iterator(dir, error)) {
    if (IsTempStepDirName(entry.path().filename().string())) remove(entry.path());
  }
  return first_error;
}

}  // namespace kachi::ckpt
