// Random training tokens for benchmarks: a temporary directory holding one token shard, removed on destruction.
#ifndef KACHI_BENCH_TRAIN_SYNTHETIC_TOKENS_H_
#define KACHI_BENCH_TRAIN_SYNTHETIC_TOKENS_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"

namespace kachi {

// A shard of uniformly random tokens in a fresh temporary directory (deleted with the object). Move-only.
class SyntheticTokenShard {
 public:
  // Writes `count` tokens drawn uniformly from [0, vocab_size) with a generator seeded by `seed` to
  // $TMPDIR (or /tmp)/kachi_bench_train_XXXXXX/train_000000.bin. vocab_size must be in [1, 65536].
  static absl::StatusOr<SyntheticTokenShard> Create(int64_t count, int64_t vocab_size, uint64_t seed);

  SyntheticTokenShard(SyntheticTokenShard&& other) noexcept;
  SyntheticTokenShard& operator=(SyntheticTokenShard&& other) noexcept;
  SyntheticTokenShard(const SyntheticTokenShard&) = delete;
  SyntheticTokenShard& operator=(const SyntheticTokenShard&) = delete;
  ~SyntheticTokenShard();

  // The shard's path (a valid TrainOptions::train_pattern).
  const std::string& path() const { return path_; }

 private:
  SyntheticTokenShard() = default;

  std::string directory_;
  std::string path_;
};

}  // namespace kachi

#endif  // KACHI_BENCH_TRAIN_SYNTHETIC_TOKENS_H_
