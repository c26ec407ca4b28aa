// Pipelined shard writes: fetch, crc32 and write stages on their own threads (see chunked_write.h).
#include "runtime/ckpt/chunked_write.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "kernels/base/errno_status.h"

namespace kachi::ckpt {
namespace {

constexpr int64_t kMaxChunkBytes = int64_t{1} << 30;
// Writes all of [data, data + size) to fd, retrying short writes and EINTR.
bool WriteAll(int fd, const char* data, int64_t size) {
  int64_t done = 0;
  while (done < size) {
    const ssize_t n = ::write(fd, data + done, static_cast<size_t>(size - done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (n == 0) errno = EIO;
      return false;
    }
    done += n;
  }
  return true;
}

// Progress shared by the three stages; every wait also ends when a stage failed.
class Progress {
 public:
  explicit Progress(int64_t chunks) : where_(static_cast<size_t>(chunks), nullptr) {}

  // Records the first error and wakes every stage.
  void Fail(absl::Status error) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (error_.ok()) error_ = std::move(error);
    cv_.notify_all();
  }
  absl::Status error() {
    std::lock_guard<std::mutex> lock(mutex_);
    return error_;
  }
  // Fetch stage: waits until chunk `chunk` finished both crc32 and write (true), or a stage failed (false).
  bool WaitDone(int64_t chunk) {
    std::unique_lock<std::mutex> lock(mutex_);
    cv_.wait(lock, [&] { return !error_.ok() || std::min(crc_done_, written_) > chunk; });
    return error_.ok();
  }
  // Waits until chunk `chunk` is fetched and returns its bytes (null when a stage failed).
  const char* WaitFetched(int64_t chunk) {
    std::unique_lock<std::mutex> lock(mutex_);
    cv_.wait(lock, [&] { return !error_.ok() || fetched_ > chunk; });
    return error_.ok() ? where_[static_cast<size_t>(chunk)] : nullptr;
  }
  void Fetched(int64_t chunk, const char* where) { Advance(&fetched_, chunk, where); }
  void Checksummed(int64_t chunk) { Advance(&crc_done_, chunk, nullptr); }
  void Written(int64_t chunk) { Advance(&written_, chunk, nullptr); }

 private:
  void Advance(int64_t* counter, int64_t chunk, const char* where) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (where != nullptr) where_[static_cast<size_t>(chunk)] = where;
    *counter = chunk + 1;
    cv_.notify_all();
  }

  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<const char*> where_;
  int64_t fetched_ = 0, crc_done_ = 0, written_ = 0;
  absl::Status error_;
};

}  // namespace

absl::StatusOr<FileDigest> WriteChunkedFile(const std::string& path, int64_t size, const ChunkFetch& fetch,
                                            const ChunkedWriteOptions& options) {
  if (size < 0 || options.chunk_bytes <= 0 || options.chunk_bytes > kMaxChunkBytes || options.slots < 1) {
    return absl::InvalidArgumentError(absl::StrCat("writing '", path, "': bad chunked write (size ", size, ", chunk ",
                                                   options.chunk_bytes, " bytes, ", options.slots, " slots)"));
  }
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return base::ErrnoStatus("create", path);
  const int64_t chunk_bytes = options.chunk_bytes;
  const int64_t chunks = (size + chunk_bytes - 1) / chunk_bytes;
  auto chunk_size = [&](int64_t k) { return std::min(chunk_bytes, size - k * chunk_bytes); };
  Progress progress(chunks);
  uint32_t crc = 0;

  std::thread fetcher([&] {
    for (int64_t k = 0; k < chunks; ++k) {
      if (k >= options.slots && !progress.WaitDone(k - options.slots)) return;
      absl::StatusOr<const char*> where = fetch(k * chunk_bytes, chunk_size(k), static_cast<int>(k % options.slots));
      if (!where.ok()) {
        progress.Fail(absl::Status(where.status().code(),
                                   absl::StrCat("writing '", path, "': cannot fetch bytes [", k * chunk_bytes, ", ",
                                                k * chunk_bytes + chunk_size(k), "): ", where.status().message())));
        return;
      }
      progress.Fetched(k, *where);
    }
  });
  std::thread checksummer;
  if (options.overlap_crc) {
    checksummer = std::thread([&] {
      for (int64_t k = 0; k < chunks; ++k) {
        const char* data = progress.WaitFetched(k);
        if (data == nullptr) return;
        crc = Crc32(absl::string_view(data, static_cast<size_t>(chunk_size(k))), crc);
        progress.Checksummed(k);
      }
    });
  }

  // The write stage (this thread), with the test pause after `split` bytes.
  const bool pausing = options.pause.seconds > 0;
  const int64_t split = pausing ? std::clamp<int64_t>(options.pause.after_bytes, 0, size) : -1;
  auto pause = [&] {
    ::fsync(fd);  // the partial file is visible to whoever watches the save
    std::this_thread::sleep_for(std::chrono::duration<double>(options.pause.seconds));
  };
  bool paused = false;
  for (int64_t k = 0; k < chunks; ++k) {
    const char* data = progress.WaitFetched(k);
    if (data == nullptr) break;
    const int64_t begin = k * chunk_bytes, n = chunk_size(k);
    if (!options.overlap_crc) {
      crc = Crc32(absl::string_view(data, static_cast<size_t>(n)), crc);
      progress.Checksummed(k);
    }
    bool ok;
    if (pausing && !paused && split <= begin + n) {
      ok = WriteAll(fd, data, split - begin);
      if (ok) pause();
      ok = ok && WriteAll(fd, data + (split - begin), begin + n - split);
      paused = true;
    } else {
      ok = WriteAll(fd, data, n);
    }
    if (!ok) {
      progress.Fail(base::ErrnoStatus("write", path));
      break;
    }
    progress.Written(k);
    // Best effort (ENOSYS/EINVAL on file systems without it): the final fsync is what makes the file durable.
    if (options.start_writeback) (void)::sync_file_range(fd, begin, n, SYNC_FILE_RANGE_WRITE);
  }
  fetcher.join();
  if (checksummer.joinable()) checksummer.join();
  if (absl::Status error = progress.error(); !error.ok()) {
    ::close(fd);
    return error;
  }
  if (pausing && !paused) pause();
  if (::fsync(fd) != 0) {
    absl::Status error = base::ErrnoStatus("fsync", path);
    ::close(fd);
    return error;
  }
  if (::close(fd) != 0) return base::ErrnoStatus("close", path);
  return FileDigest{size, crc};
}

}  // namespace kachi::ckpt
