// File helpers of the single-process checkpoint tests: a fresh temporary directory, seeded random bytes, and a
// scoped file-size limit that makes write(2) fail with EFBIG part way (to test write errors).
#ifndef KACHI_TESTS_CKPT_CKPT_FILE_UTIL_H_
#define KACHI_TESTS_CKPT_CKPT_FILE_UTIL_H_

#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>

#include <cstdint>
#include <random>
#include <string>

#include "gtest/gtest.h"

namespace kachi::testing {

// A new empty directory /tmp/PREFIX_XXXXXX (mkdtemp); a test failure when it cannot be made.
inline std::string MakeTempDir(const std::string& prefix) {
  std::string pattern = "/tmp/" + prefix + "_XXXXXX";
  EXPECT_NE(::mkdtemp(pattern.data()), nullptr) << pattern;
  return pattern;
}

// `n` random bytes from `seed`.
inline std::string RandomBytes(size_t n, uint64_t seed) {
  std::mt19937_64 gen(seed);
  std::string bytes(n, '\0');
  for (char& c : bytes) c = static_cast<char>(gen() & 0xff);
  return bytes;
}

// While alive, files of this process cannot grow past `bytes` (RLIMIT_FSIZE), and SIGXFSZ is ignored so that the
// write fails with EFBIG instead of killing the process; both are restored on destruction. ok() says whether the
// limit was set (a test failure is recorded when not).
class ScopedFileSizeLimit {
 public:
  explicit ScopedFileSizeLimit(rlim_t bytes) {
    if (::getrlimit(RLIMIT_FSIZE, &old_limit_) != 0) {
      ADD_FAILURE() << "getrlimit(RLIMIT_FSIZE) failed";
      return;
    }
    struct sigaction ignore = {};
    ignore.sa_handler = SIG_IGN;
    if (::sigaction(SIGXFSZ, &ignore, &old_action_) != 0) {
      ADD_FAILURE() << "sigaction(SIGXFSZ) failed";
      return;
    }
    signal_set_ = true;
    struct rlimit limit = old_limit_;
    limit.rlim_cur = bytes;
    limit_set_ = ::setrlimit(RLIMIT_FSIZE, &limit) == 0;
    if (!limit_set_) ADD_FAILURE() << "setrlimit(RLIMIT_FSIZE) failed";
  }
  ~ScopedFileSizeLimit() {
    if (limit_set_) EXPECT_EQ(::setrlimit(RLIMIT_FSIZE, &old_limit_), 0);
    if (signal_set_) EXPECT_EQ(::sigaction(SIGXFSZ, &old_action_, nullptr), 0);
  }
  ScopedFileSizeLimit(const ScopedFileSizeLimit&) = delete;
  ScopedFileSizeLimit& operator=(const ScopedFileSizeLimit&) = delete;

  bool ok() const { return limit_set_; }

 private:
  struct rlimit old_limit_ = {};
  struct sigaction old_action_ = {};
  bool signal_set_ = false;
  bool limit_set_ = false;
};

}  // namespace kachi::testing

#endif  // KACHI_TESTS_CKPT_CKPT_FILE_UTIL_H_
