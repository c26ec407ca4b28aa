// Start-up checks of the paths a training run will write or read, before step 1 (issue 13): checkpoint.dir must be
// a writable directory or creatable in one (not a file), train.save_weights's folder must exist and be writable (and
// the path not be a directory), data.train / data.val must match at least one file (a folder gets "give a glob").
// Errors are InvalidArgument naming the field and the path.
#ifndef KACHI_RUNTIME_TRAIN_RUN_PATHS_H_
#define KACHI_RUNTIME_TRAIN_RUN_PATHS_H_

#include "absl/status/status.h"
#include "runtime/proto/config.pb.h"

namespace kachi {

// The checks above on this process's file system view (call on every rank; the filesystems may differ by host).
absl::Status CheckRunPaths(const config::KachiConfig& config);

}  // namespace kachi

#endif  // KACHI_RUNTIME_TRAIN_RUN_PATHS_H_
