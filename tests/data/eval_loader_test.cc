// Tests for the eval loader: the first K windows in order, split across ranks so that every layout covers the
// same set, with the stream's tokens; and its option errors.
#include "runtime/data/eval_loader.h"

#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "tests/data/data_test_util.h"

namespace kachi {
namespace {

using ::kachi::testing::ScopedTempDirs;
using ::kachi::testing::WriteRandomShards;

constexpr int64_t kSeqLen = 12;

class EvalLoaderTest : public ::testing::Test {
 protected:
  ScopedTempDirs temp_dirs_;  // declared first: outlives the paths below
  void SetUp() override {
    dir_ = temp_dirs_.Make("eval_loader");
    stream_ = WriteRandomShards(dir_, "val", {150, 211}, /*first_seed=*/300, 256);
  }

  EvalLoaderOptions Options(int dp_size, int dp_rank, int64_t micro_batch, int64_t num_windows) const {
    EvalLoaderOptions options;
    options.pattern = dir_ + "/val_*.bin";
    options.seq_len = kSeqLen;
    options.num_windows = num_windows;
    options.micro_batch = micro_batch;
    options.dp_size = dp_size;
    options.dp_rank = dp_rank;
    options.vocab_size = 256;
    return options;
  }

  std::string dir_;
  std::vector<uint16_t> stream_;  // 361 tokens: 30 windows of 12
};

TEST_F(EvalLoaderTest, EveryLayoutCoversTheFirstWindowsInOrder) {
  const int64_t kEvalWindows = 24;
  for (const auto& [dp, micro_batch] : std::vector<std::pair<int, int64_t>>{{1, 24}, {1, 4}, {2, 3}, {4, 2}, {3, 8}}) {
    std::vector<EvalLoader> ranks;
    for (int rank = 0; rank < dp; ++rank) {
      absl::StatusOr<EvalLoader> loader = EvalLoader::Open(Options(dp, rank, micro_batch, kEvalWindows));
      ASSERT_TRUE(loader.ok()) << loader.status();
      ranks.push_back(*std::move(loader));
    }
    ASSERT_EQ(ranks[0].num_batches(), kEvalWindows / (dp * micro_batch));
    std::vector<int64_t> windows;
    for (int64_t j = 0; j < ranks[0].num_batches(); ++j) {
      for (int rank = 0; rank < dp; ++rank) {
        absl::StatusOr<TokenBatch> batch = ranks[rank].Batch(j);
        ASSERT_TRUE(batch.ok()) << batch.status();
        for (int64_t row = 0; row < batch->batch_size; ++row) {
          const int64_t start = batch->windows[row] * kSeqLen;
          for (int64_t t = 0; t < kSeqLen; ++t) {
            ASSERT_EQ(batch->inputs[row * kSeqLen + t], stream_[start + t]);
            ASSERT_EQ(batch->targets[row * kSeqLen + t], stream_[start + t + 1]);
          }
        }
        windows.insert(windows.end(), batch->windows.begin(), batch->windows.end());
      }
    }
    std::vector<int64_t> expected(kEvalWindows);
    for (int64_t i = 0; i < kEvalWindows; ++i) expected[i] = i;
    EXPECT_EQ(windows, expected) << "dp=" << dp << " b=" << micro_batch;
    EXPECT_EQ(ranks[0].Batch(ranks[0].num_batches()).status().code(), absl::StatusCode::kOutOfRange);
  }
}

TEST_F(EvalLoaderTest, RejectsUnevenSplitAndTooFewWindows) {
  absl::StatusOr<EvalLoader> loader = EvalLoader::Open(Options(2, 0, 4, 20));  // 20 % 8 != 0
  EXPECT_EQ(loader.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(loader.status().message().find("num_windows is 20"), std::string::npos) << loader.status();
  loader = EvalLoader::Open(Options(1, 0, 4, 32));  // only 30 windows exist
  EXPECT_EQ(loader.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(loader.status().message().find("hold 30 windows"), std::string::npos) << loader.status();
}

}  // namespace
}  // namespace kachi
