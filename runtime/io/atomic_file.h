// Whole-file reads and atomic writes: a writer puts the bytes in a temporary file beside the target, flushes it to
// disk and renames it into place, so a reader sees the old file or the complete new one, never a partial one.
#ifndef KACHI_RUNTIME_IO_ATOMIC_FILE_H_
#define KACHI_RUNTIME_IO_ATOMIC_FILE_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace kachi {

// Writes `contents` to `path` through "<path>.tmp.<pid>.<n>" + fsync + rename. On error the temporary file is
// removed and `path` is untouched; the message names the path and the failing system call.
absl::Status WriteFileAtomically(const std::string& path, absl::string_view contents);

// The whole contents of `path`. The error names the path and the reason (missing, unreadable, short read).
absl::StatusOr<std::string> ReadWholeFile(const std::string& path);

}  // namespace kachi

#endif  // KACHI_RUNTIME_IO_ATOMIC_FILE_H_
