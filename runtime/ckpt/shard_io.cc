// Shard file writes, digests, positioned reads and directory syncs over POSIX calls (see shard_io.h).
#include "runtime/ckpt/shard_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "runtime/ckpt/chunked_write.h"
#include "kernels/base/errno_status.h"

namespace kachi::ckpt {
namespace {

// Bytes per write/read/crc call (zlib's crc32 takes a 32-bit length).
constexpr int64_t kChunkBytes = 64 << 20;
}  // namespace

uint32_t Crc32(absl::string_view bytes, uint32_t crc) {
  uLong value = crc;
  for (size_t done = 0; done < bytes.size();) {
    const size_t n = std::min<size_t>(bytes.size() - done, kChunkBytes);
    value = ::crc32(value, reinterpret_cast<const Bytef*>(bytes.data() + done), static_cast<uInt>(n));
    done += n;
  }
  return static_cast<uint32_t>(value);
}

absl::StatusOr<FileDigest> WriteSyncedFile(const std::string& path, absl::string_view bytes, const WritePause& pause) {
  ChunkedWriteOptions options;
  options.pause = pause;
  return WriteChunkedFile(
      path, static_cast<int64_t>(bytes.size()),
      [&](int64_t offset, int64_t, int) -> absl::StatusOr<const char*> { return bytes.data() + offset; }, options);
}

absl::StatusOr<FileDigest> DigestFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return base::ErrnoStatus("open", path);
  FileDigest digest;
  std::vector<char> buffer(static_cast<size_t>(std::min<int64_t>(kChunkBytes, 8 << 20)));
  while (true) {
    const ssize_t n = ::read(fd, buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      absl::Status error = base::ErrnoStatus("read", path);
      ::close(fd);
      return error;
    }
    if (n == 0) break;
    digest.crc32 = Crc32(absl::string_view(buffer.data(), static_cast<size_t>(n)), digest.crc32);
    digest.bytes += n;
  }
  ::close(fd);
  return digest;
}

absl::Status ReadFileRange(const std::string& path, int64_t offset, int64_t size, void* out) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return base::ErrnoStatus("open", path);
  char* dest = static_cast<char*>(out);
  int64_t done = 0;
  while (done < size) {
    const ssize_t n = ::pread(fd, dest + done, static_cast<size_t>(std::min(size - done, kChunkBytes)), offset + done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      absl::Status error = base::ErrnoStatus("read", path);
      ::close(fd);
      return error;
    }
    if (n == 0) {
      ::close(fd);
      return absl::DataLossError(absl::StrCat("'", path, "' ends before byte ", offset + size, " (read ", done,
                                              " of ", size, " bytes at offset ", offset, ")"));
    }
    done += n;
  }
  ::close(fd);
  return absl::OkStatus();
}

absl::Status SyncDirectory(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return base::ErrnoStatus("open directory", path);
  if (::fsync(fd) != 0) {
    absl::Status error = base::ErrnoStatus("fsync directory", path);
    ::close(fd);
    return error;
  }
  ::close(fd);
  return absl::OkStatus();
}

}  // namespace kachi::ckpt
