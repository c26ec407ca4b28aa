// The errno -> absl::Status converter of every layer: Internal "cannot <what> '<path>': <strerror(errno)>", for a
// system call on a file that just failed (read errno before any other call).
#ifndef KACHI_KERNELS_BASE_ERRNO_STATUS_H_
#define KACHI_KERNELS_BASE_ERRNO_STATUS_H_

#include <cerrno>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace kachi::base {

// Internal naming the operation, the path and errno's text.
inline absl::Status ErrnoStatus(absl::string_view what, absl::string_view path, int error = errno) {
  return absl::InternalError(absl::StrCat("cannot ", what, " '", path, "': ", std::strerror(error)));
}

}  // namespace kachi::base

#endif  // KACHI_KERNELS_BASE_ERRNO_STATUS_H_
