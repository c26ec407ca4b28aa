// Tests for the deterministic train loader: windows match the token stream (across shard boundaries), an epoch
// visits every window once, every (dp, micro-batch, accumulation) layout with the same global batch sees the same
// windows per step, seeds matter, state save/restore continues identically, and epochs wrap into a new order.
#include "runtime/data/train_loader.h"

#include <algorithm>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/data/token_shard.h"
#include "runtime/data/window_order.h"
#include "tests/data/data_test_util.h"

namespace kachi {
namespace {

using ::kachi::testing::ScopedTempDirs;
using ::kachi::testing::RandomTokens;
using ::kachi::testing::WriteRandomShards;

constexpr int kVocab = 50257;
constexpr int64_t kSeqLen = 16;
constexpr int64_t kGlobalBatch = 8;
// The shards hold 1000, 777 and 1500 tokens: 3277 in all, so floor(3276 / 16) = 204 windows per epoch (not a
// multiple of the batch).
constexpr int64_t kWindows = 204;

class TrainLoaderTest : public ::testing::Test {
 protected:
  ScopedTempDirs temp_dirs_;  // declared first: outlives the paths below
  void SetUp() override {
    dir_ = temp_dirs_.Make("train_loader");
    stream_ = WriteRandomShards(dir_, "train", {1000, 777, 1500}, /*first_seed=*/100, kVocab);
    // A file the pattern must not pick up.
    ASSERT_TRUE(WriteTokenShard(dir_ + "/val_000000.bin", RandomTokens(50, 99, kVocab)).ok());
  }

  TrainLoaderOptions Options(int dp_size, int dp_rank, int64_t micro_batch, uint64_t seed = 1234) const {
    TrainLoaderOptions options;
    options.pattern = dir_ + "/train_*.bin";
    options.seq_len = kSeqLen;
    options.global_batch = kGlobalBatch;
    options.micro_batch = micro_batch;
    options.dp_size = dp_size;
    options.dp_rank = dp_rank;
    options.seed = seed;
    options.vocab_size = kVocab;
    return options;
  }

  TrainLoader OpenOrDie(const TrainLoaderOptions& options) const {
    absl::StatusOr<TrainLoader> loader = TrainLoader::Open(options);
    EXPECT_TRUE(loader.ok()) << loader.status();
    return *std::move(loader);
  }

  // Checks that `batch` holds exactly the stream's tokens for its windows.
  void ExpectBatchMatchesStream(const TokenBatch& batch) const {
    ASSERT_EQ(batch.inputs.size(), static_cast<size_t>(batch.batch_size * kSeqLen));
    ASSERT_EQ(batch.targets.size(), batch.inputs.size());
    for (int64_t row = 0; row < batch.batch_size; ++row) {
      const int64_t start = batch.windows[row] * kSeqLen;
      for (int64_t t = 0; t < kSeqLen; ++t) {
        ASSERT_EQ(batch.inputs[row * kSeqLen + t], stream_[start + t]) << "window " << batch.windows[row];
        ASSERT_EQ(batch.targets[row * kSeqLen + t], stream_[start + t + 1]) << "window " << batch.windows[row];
      }
    }
  }

  std::string dir_;
  std::vector<uint16_t> stream_;
};

TEST_F(TrainLoaderTest, BatchesAreStreamWindowsIncludingAcrossShards) {
  TrainLoader loader = OpenOrDie(Options(1, 0, 8));
  EXPECT_EQ(loader.num_windows(), kWindows);
  EXPECT_EQ(loader.accumulation_steps(), 1);
  std::set<int64_t> seen;
  for (int64_t step = 0; step < 26; ++step) {
    absl::StatusOr<TokenBatch> batch = loader.MicroBatchAt(step, 0);
    ASSERT_TRUE(batch.ok()) << batch.status();
    EXPECT_EQ(batch->batch_size, 8);
    EXPECT_EQ(batch->seq_len, kSeqLen);
    ExpectBatchMatchesStream(*batch);
    seen.insert(batch->windows.begin(), batch->windows.end());
  }
  // Window 62 spans shards 0 and 1 (tokens 992..1008), window 111 spans shards 1 and 2 (1776..1792).
  EXPECT_TRUE(seen.count(62) && seen.count(111)) << "an epoch must visit the shard-spanning windows";
}

TEST_F(TrainLoaderTest, EpochVisitsEveryWindowOnce) {
  TrainLoader loader = OpenOrDie(Options(1, 0, 8));
  std::vector<int64_t> order;
  for (int64_t step = 0; step < 26; ++step) {
    const std::vector<int64_t> windows = loader.StepWindows(step);
    order.insert(order.end(), windows.begin(), windows.end());
  }
  // Steps 0..24 (200 windows) lie inside epoch 0: all distinct.
  EXPECT_EQ(std::set<int64_t>(order.begin(), order.begin() + 200).size(), 200u);
  // The first 204 positions are a permutation of all windows.
  std::vector<int64_t> epoch(order.begin(), order.begin() + kWindows);
  std::sort(epoch.begin(), epoch.end());
  for (int64_t i = 0; i < kWindows; ++i) ASSERT_EQ(epoch[i], i);
  // And the order is shuffled, not sequential.
  EXPECT_FALSE(std::is_sorted(order.begin(), order.begin() + kWindows));
}

TEST_F(TrainLoaderTest, GlobalBatchIsTheSameForEveryLayout) {
  // (dp, micro_batch, accumulation) with dp * micro_batch * accumulation = 8.
  const std::vector<std::tuple<int, int64_t, int>> layouts = {{1, 8, 1}, {2, 4, 1}, {4, 2, 1}, {1, 2, 4},
                                                              {2, 1, 4}, {8, 1, 1}, {4, 1, 2}};
  // Reference: the whole step read by one rank in one micro-batch. 30 steps cross into epoch 1.
  TrainLoader reference = OpenOrDie(Options(1, 0, 8));
  for (const auto& [dp, micro_batch, accumulation] : layouts) {
    std::vector<TrainLoader> ranks;
    for (int rank = 0; rank < dp; ++rank) ranks.push_back(OpenOrDie(Options(dp, rank, micro_batch)));
    ASSERT_EQ(ranks[0].accumulation_steps(), accumulation);
    for (int64_t step = 0; step < 30; ++step) {
      const TokenBatch expected = *reference.MicroBatchAt(step, 0);
      // Micro-steps in order, ranks in order within each: the layout rule reproduces the global order.
      TokenBatch combined;
      for (int m = 0; m < accumulation; ++m) {
        for (int rank = 0; rank < dp; ++rank) {
          absl::StatusOr<TokenBatch> part = ranks[rank].MicroBatch(m);
          ASSERT_TRUE(part.ok()) << part.status();
          ASSERT_EQ(part->batch_size, micro_batch);
          combined.windows.insert(combined.windows.end(), part->windows.begin(), part->windows.end());
          combined.inputs.insert(combined.inputs.end(), part->inputs.begin(), part->inputs.end());
          combined.targets.insert(combined.targets.end(), part->targets.begin(), part->targets.end());
        }
      }
      ASSERT_EQ(combined.windows, expected.windows) << "dp=" << dp << " b=" << micro_batch << " step " << step;
      ASSERT_EQ(combined.inputs, expected.inputs) << "dp=" << dp << " b=" << micro_batch << " step " << step;
      ASSERT_EQ(combined.targets, expected.targets) << "dp=" << dp << " b=" << micro_batch << " step " << step;
      // Within a step the ranks' windows are disjoint (8 distinct windows; steps here never repeat one).
      ASSERT_EQ(std::set<int64_t>(combined.windows.begin(), combined.windows.end()).size(), 8u);
      for (TrainLoader& rank : ranks) rank.Advance();
    }
  }
}

TEST_F(TrainLoaderTest, SeedsDifferAndAreReproducible) {
  TrainLoader first = OpenOrDie(Options(1, 0, 8, /*seed=*/1));
  TrainLoader again = OpenOrDie(Options(1, 0, 8, /*seed=*/1));
  TrainLoader other = OpenOrDie(Options(1, 0, 8, /*seed=*/2));
  int differing_steps = 0;
  for (int64_t step = 0; step < 10; ++step) {
    EXPECT_EQ(first.StepWindows(step), again.StepWindows(step));
    differing_steps += first.StepWindows(step) != other.StepWindows(step);
  }
  EXPECT_EQ(differing_steps, 10);
}

TEST_F(TrainLoaderTest, StateRestoreContinuesIdentically) {
  TrainLoader original = OpenOrDie(Options(2, 1, 2, /*seed=*/77));
  for (int i = 0; i < 31; ++i) original.Advance();  // step 31 lies in epoch 1
  const TrainLoaderState saved = original.state();
  EXPECT_EQ(saved.step, 31);
  EXPECT_EQ(saved.epoch, 1);
  EXPECT_EQ(saved.seed, 77u);

  // A fresh loader opened with another seed adopts the saved one.
  TrainLoader restored = OpenOrDie(Options(2, 1, 2, /*seed=*/5));
  ASSERT_TRUE(restored.Restore(saved).ok());
  EXPECT_EQ(restored.step(), 31);
  for (int i = 0; i < 40; ++i) {
    for (int m = 0; m < original.accumulation_steps(); ++m) {
      ASSERT_EQ(restored.MicroBatch(m)->windows, original.MicroBatch(m)->windows) << "step " << original.step();
      ASSERT_EQ(restored.MicroBatch(m)->inputs, original.MicroBatch(m)->inputs) << "step " << original.step();
    }
    original.Advance();
    restored.Advance();
  }
  EXPECT_EQ(restored.state().step, original.state().step);
  EXPECT_EQ(restored.state().epoch, original.state().epoch);
}

TEST_F(TrainLoaderTest, RestoreRejectsMismatchedState) {
  TrainLoader loader = OpenOrDie(Options(1, 0, 8));
  TrainLoaderState state = loader.state();
  state.step = 40;
  state.epoch = 0;  // step 40 * 8 = window 320 is in epoch 1
  absl::Status status = loader.Restore(state);
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(status.message().find("expected epoch 1"), std::string::npos) << status;

  state = loader.state();
  state.global_batch = 16;
  EXPECT_EQ(loader.Restore(state).code(), absl::StatusCode::kFailedPrecondition);
  state = loader.state();
  state.num_windows = kWindows + 1;
  EXPECT_EQ(loader.Restore(state).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(loader.step(), 0) << "a rejected restore must not move the loader";
}

TEST_F(TrainLoaderTest, EpochWrapsIntoTheNextPermutation) {
  const uint64_t seed = 4242;
  TrainLoader loader = OpenOrDie(Options(1, 0, 8, seed));
  const std::vector<uint32_t> epoch0 = EpochPermutation(seed, 0, kWindows);
  const std::vector<uint32_t> epoch1 = EpochPermutation(seed, 1, kWindows);
  EXPECT_NE(epoch0, epoch1);
  // Step 25 covers positions 200..207: epoch 0's last 4 windows, then epoch 1's first 4.
  const std::vector<int64_t> windows = loader.StepWindows(25);
  const std::vector<int64_t> expected = {epoch0[200], epoch0[201], epoch0[202], epoch0[203],
                                         epoch1[0],   epoch1[1],   epoch1[2],   epoch1[3]};
  EXPECT_EQ(windows, expected);
  // Step 26 starts at position 208 = epoch 1, index 4.
  EXPECT_EQ(loader.StepWindows(26)[0], epoch1[4]);
  for (int i = 0; i < 25; ++i) loader.Advance();
  EXPECT_EQ(loader.epoch(), 0);
  loader.Advance();
  EXPECT_EQ(loader.epoch(), 1);
  // Epoch 2 (positions 408...) uses a third order.
  EXPECT_EQ(loader.StepWindows(51)[0], EpochPermutation(seed, 2, kWindows)[0]);
}

TEST_F(TrainLoaderTest, OpenRejectsBadOptionsAndData) {
  TrainLoaderOptions options = Options(2, 0, 3);  // 8 is not a multiple of 2 * 3
  absl::StatusOr<TrainLoader> loader = TrainLoader::Open(options);
  ASSERT_FALSE(loader.ok());
  EXPECT_EQ(loader.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(loader.status().message().find("global_batch is 8"), std::string::npos) << loader.status();

  EXPECT_EQ(TrainLoader::Open(Options(2, 2, 4)).status().code(), absl::StatusCode::kInvalidArgument);

  options = Options(1, 0, 8);
  options.pattern = dir_ + "/nothing_*.bin";
  loader = TrainLoader::Open(options);
  EXPECT_EQ(loader.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(loader.status().message().find(options.pattern), std::string::npos) << loader.status();

  options = Options(1, 0, 8);
  options.seq_len = 5000;  // longer than the data
  EXPECT_EQ(TrainLoader::Open(options).status().code(), absl::StatusCode::kFailedPrecondition);

  options = Options(1, 0, 8);
  options.vocab_size = 1000;  // random tokens reach up to 50256
  loader = TrainLoader::Open(options);
  EXPECT_EQ(loader.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_NE(loader.status().message().find("train_000000.bin"), std::string::npos) << loader.status();

  TrainLoader good = OpenOrDie(Options(1, 0, 2));
  EXPECT_EQ(good.MicroBatch(4).status().code(), absl::StatusCode::kOutOfRange);
}

}  // namespace
}  // namespace kachi
