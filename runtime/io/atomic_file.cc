// Atomic file writes and whole-file reads over POSIX calls (see atomic_file.h).
#include "runtime/io/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace kachi {
namespace {

absl::Status SystemError(absl::string_view what, const std::string& path) {
  return absl::InternalError(absl::StrCat("cannot ", what, " '", path, "': ", std::strerror(errno)));
}

// Writes all of `contents` to `fd`, retrying short writes and EINTR.
bool WriteAll(int fd, absl::string_view contents) {
  size_t done = 0;
  while (done < contents.size()) {
    const ssize_t n = ::write(fd, contents.data() + done, contents.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

absl::Status WriteFileAtomically(const std::string& path, absl::string_view contents) {
  static std::atomic<int> counter{0};
  const std::string temp_path = absl::StrCat(path, ".tmp.", ::getpid(), ".", counter++);
  const int fd = ::open(temp_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return SystemError("create temporary file", temp_path);
  if (!WriteAll(fd, contents)) {
    absl::Status error = SystemError("write", temp_path);
    ::close(fd);
    ::unlink(temp_path.c_str());
    return error;
  }
  if (::fsync(fd) != 0) {
    absl::Status error = SystemError("fsync", temp_path);
    ::close(fd);
    ::unlink(temp_path.c_str());
    return error;
  }
  if (::close(fd) != 0) {
    absl::Status error = SystemError("close", temp_path);
    ::unlink(temp_path.c_str());
    return error;
  }
  if (std::rename(temp_path.c_str(), path.c_str()) != 0) {
    absl::Status error = SystemError(absl::StrCat("rename '", temp_path, "' onto"), path);
    ::unlink(temp_path.c_str());
    return error;
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadWholeFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return SystemError("open", path);
  struct stat info;
  if (::fstat(fd, &info) != 0) {
    absl::Status error = SystemError("stat", path);
    ::close(fd);
    return error;
  }
  if (!S_ISREG(info.st_mode)) {
    ::close(fd);
    return absl::InvalidArgumentError(absl::StrCat("'", path, "' is not a regular file"));
  }
  std::string contents(static_cast<size_t>(info.st_size), '\0');
  size_t done = 0;
  while (done < contents.size()) {
    const ssize_t n = ::read(fd, contents.data() + done, contents.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      absl::Status error = SystemError("read", path);
      ::close(fd);
      return error;
    }
    if (n == 0) {
      ::close(fd);
      return absl::DataLossError(
          absl::StrCat("'", path, "' ended after ", done, " bytes; its size was ", contents.size()));
    }
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  return contents;
}

}  // namespace kachi
