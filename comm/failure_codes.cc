// The failure report file (see failure_codes.h).
#include "comm/failure_codes.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>

namespace kachi {

void WriteFailureReport(const std::string& message) {
  const char* path = std::getenv("KACHI_FAILURE_REPORT");
  if (path == nullptr || *path == '\0') return;
  const int fd = ::open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return;
  const std::string line = message + "\n";
  (void)!::write(fd, line.data(), line.size());  // one write: lines of different ranks do not interleave
  ::close(fd);
}

}  // namespace kachi
