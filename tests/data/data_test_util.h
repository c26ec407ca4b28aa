// Helpers for the data tests: fresh temporary directories, seeded random tokens, token shards of them and raw file
// writes.
#ifndef KACHI_TESTS_DATA_DATA_TEST_UTIL_H_
#define KACHI_TESTS_DATA_DATA_TEST_UTIL_H_

#include <stdlib.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <system_error>
#include <vector>

#include "absl/strings/str_format.h"
#include "gtest/gtest.h"
#include "runtime/data/token_shard.h"

namespace kachi::testing {

// New empty directories under the test temp dir, all removed (with their contents) when this object dies.
class ScopedTempDirs {
 public:
  ScopedTempDirs() = default;
  ScopedTempDirs(const ScopedTempDirs&) = delete;
  ScopedTempDirs& operator=(const ScopedTempDirs&) = delete;
  ~ScopedTempDirs() {
    std::error_code ignored;
    for (const std::string& dir : dirs_) std::filesystem::remove_all(dir, ignored);
  }

  // A new empty directory whose name includes `label`.
  std::string Make(const std::string& label) {
    std::string base = ::testing::TempDir();
    if (!base.empty() && base.back() == '/') base.pop_back();
    std::string pattern = base + "/kachi_" + label + "_XXXXXX";
    char* made = ::mkdtemp(pattern.data());
    EXPECT_NE(made, nullptr) << "mkdtemp failed for " << pattern;
    dirs_.push_back(pattern);
    return pattern;
  }

 private:
  std::vector<std::string> dirs_;
};

// `n` tokens uniform in [0, vocab_size) from a seeded generator.
inline std::vector<uint16_t> RandomTokens(size_t n, uint64_t seed, int vocab_size) {
  std::mt19937_64 generator(seed);
  std::uniform_int_distribution<int> dist(0, vocab_size - 1);
  std::vector<uint16_t> tokens(n);
  for (auto& token : tokens) token = static_cast<uint16_t>(dist(generator));
  return tokens;
}

// Writes shard i of `sizes` as DIR/PREFIX_00000i.bin holding RandomTokens(sizes[i], first_seed + i, vocab_size);
// returns all their tokens in file order (the stream a loader reads). A failed write is a test failure.
inline std::vector<uint16_t> WriteRandomShards(const std::string& dir, const std::string& prefix,
                                               const std::vector<size_t>& sizes, uint64_t first_seed, int vocab_size) {
  std::vector<uint16_t> stream;
  for (size_t i = 0; i < sizes.size(); ++i) {
    const std::vector<uint16_t> tokens = RandomTokens(sizes[i], first_seed + i, vocab_size);
    const absl::Status written = WriteTokenShard(absl::StrFormat("%s/%s_%06d.bin", dir, prefix, i), tokens);
    EXPECT_TRUE(written.ok()) << written;
    stream.insert(stream.end(), tokens.begin(), tokens.end());
  }
  return stream;
}

// `n` random bytes (all 256 values possible) from a seeded generator.
inline std::string RandomBytes(size_t n, uint64_t seed) {
  std::mt19937_64 generator(seed);
  std::uniform_int_distribution<int> dist(0, 255);
  std::string bytes(n, '\0');
  for (auto& byte : bytes) byte = static_cast<char>(dist(generator));
  return bytes;
}

// Writes `bytes` to `path`, replacing it.
inline void WriteFileBytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good()) << "cannot write " << path;
}

// Reads `path` whole.
inline std::string ReadFileBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace kachi::testing

#endif  // KACHI_TESTS_DATA_DATA_TEST_UTIL_H_
