// Start-up path checks (see run_paths.h).
#include "runtime/train/run_paths.h"

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "absl/strings/str_cat.h"
#include "kernels/base/status_macros.h"
#include "runtime/io/hf_dir.h"
#include "runtime/data/token_stream.h"

namespace kachi {
namespace {

namespace fs = std::filesystem;

// Whether a file can be created in `dir` (a probe file, removed at once: access() says yes to root even on
// read-only or pseudo file systems).
bool Writable(const fs::path& dir) {
  const std::string probe = (dir / absl::StrCat(".kachi_write_probe_", ::getpid())).string();
  const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd < 0) return false;
  ::close(fd);
  ::unlink(probe.c_str());
  return true;
}

absl::Status Bad(const char* field, const std::string& path, const std::string& why) {
  return absl::InvalidArgumentError(absl::StrCat(field, " = '", path, "': ", why));
}

// `dir` is a writable directory, or does not exist and its nearest existing ancestor is one (it will be created).
absl::Status CheckWritableDir(const char* field, const std::string& dir) {
  std::error_code error;
  fs::path p = fs::absolute(dir, error);
  if (fs::exists(p, error)) {
    if (!fs::is_directory(p, error)) return Bad(field, dir, "exists and is not a directory");
    if (!Writable(p)) return Bad(field, dir, "the directory is not writable");
    return absl::OkStatus();
  }
  for (fs::path parent = p.parent_path(); !parent.empty(); parent = parent.parent_path()) {
    if (!fs::exists(parent, error)) {
      if (parent == parent.root_path()) break;
      continue;
    }
    if (!fs::is_directory(parent, error)) {
      return Bad(field, dir, absl::StrCat("cannot be created: '", parent.string(), "' is not a directory"));
    }
    if (!Writable(parent)) {
      return Bad(field, dir, absl::StrCat("cannot be created: '", parent.string(), "' is not writable"));
    }
    return absl::OkStatus();
  }
  return Bad(field, dir, "no existing parent directory");
}

absl::Status CheckPattern(const char* field, const std::string& pattern) {
  std::error_code error;
  if (fs::is_directory(pattern, error)) {
    return Bad(field, pattern, absl::StrCat("is a directory: give a glob of token shards, e.g. '",
                                            (fs::path(pattern) / "train_*.bin").string(), "' (see `kachi data`)"));
  }
  absl::StatusOr<std::vector<std::string>> files = ExpandShardPattern(pattern);
  if (!files.ok()) return Bad(field, pattern, "matches no file (see `kachi data`)");
  for (const std::string& file : *files) {
    if (!fs::is_regular_file(file, error)) return Bad(field, pattern, absl::StrCat("'", file, "' is not a file"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckRunPaths(const config::KachiConfig& config) {
  if (!config.train().tensorboard_dir().empty()) {
    KACHI_RETURN_IF_ERROR(CheckWritableDir("train.tensorboard_dir", config.train().tensorboard_dir()));
  }
  if (!config.checkpoint().dir().empty()) {
    KACHI_RETURN_IF_ERROR(CheckWritableDir("checkpoint.dir", config.checkpoint().dir()));
  }
  const std::string& save = config.train().save_weights();
  if (!save.empty()) {
    std::error_code error;
    // A path ending in '/' or naming a directory gets a Hugging Face model directory (runtime/io/hf_dir.h).
    if (IsDirectoryTarget(save)) return CheckWritableDir("train.save_weights", save);
    std::string parent = fs::path(save).parent_path().string();
    if (parent.empty()) parent = ".";
    if (!fs::is_directory(parent, error)) return Bad("train.save_weights", save, "its folder does not exist");
    if (!Writable(parent)) return Bad("train.save_weights", save, "its folder is not writable");
  }
  if (!config.data().train().empty()) {
    KACHI_RETURN_IF_ERROR(CheckPattern("data.train", config.data().train()));
  }
  if (!config.data().val().empty()) {
    KACHI_RETURN_IF_ERROR(CheckPattern("data.val", config.data().val()));
  }
  return absl::OkStatus();
}

}  // namespace kachi
