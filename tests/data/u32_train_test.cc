// Training on llm.c's uint32 token shards (run under mpirun -np 1, CPU kernels). On fresh random learnable ids:
//  - the same id sequence as uint16 shards and as uint32 shards trains to bit-identical step losses, val loss and
//    parameters (the stream hands the same int32 batches whatever the width);
//  - a vocabulary of 70,000 with ids above 65,535 in the data trains: the trainer's batches hold the written ids
//    (those above 65,535 included), the first loss is ln 70000 and all losses are finite;
//  - one id >= model vocab_size in a uint32 shard stops Trainer::Create with OutOfRange naming the file, the token,
//    its position and byte offset, and the vocab size.
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "runtime/data/token_shard.h"
#include "runtime/train/trainer.h"
#include "tests/lib/single_rank_grid.h"
#include "tests/train/train_test_util.h"

namespace kachi {
namespace {

class U32TrainTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto one = testing::CreateSingleRankGrid();
    ASSERT_TRUE(one.ok()) << one.status();
    one_ = *std::move(one);
    dir_ = "/tmp/kachi_u32_train_" + std::to_string(getpid());
    seed_ = testing::TestDataSeed();
  }
  static void TearDownTestSuite() {
    std::filesystem::remove_all(dir_);
    one_.reset();
  }

  // `count` ids vocab * u^3 (u uniform in [0, 1): a skewed, learnable unigram distribution) when `skewed`, else
  // uniform in [0, vocab).
  static std::vector<uint32_t> Ids(size_t count, int64_t vocab, uint32_t seed, bool skewed) {
    std::mt19937 gen(seed);
    std::uniform_real_distribution<double> uniform(0.0, 1.0);
    std::vector<uint32_t> ids(count);
    for (auto& id : ids) id = static_cast<uint32_t>(vocab * std::pow(uniform(gen), skewed ? 3.0 : 1.0));
    return ids;
  }

  // Writes `train` and `val` ids under DIR/NAME as train_000000.bin / val_000000.bin, uint32 when `wide`.
  static std::string WriteData(const std::string& name, const std::vector<uint32_t>& train,
                               const std::vector<uint32_t>& val, bool wide) {
    const std::string dir = dir_ + "/" + name;
    std::filesystem::create_directories(dir);
    for (const auto& [file, ids] : {std::pair{"train", &train}, std::pair{"val", &val}}) {
      const std::string path = absl::StrCat(dir, "/", file, "_000000.bin");
      const absl::Status written =
          wide ? WriteTokenShardU32(path, *ids)
               : WriteTokenShard(path, std::vector<uint16_t>(ids->begin(), ids->end()));
      EXPECT_TRUE(written.ok()) << written;
    }
    return dir;
  }

  static TrainOptions Options(const std::string& dir, int64_t vocab, int64_t steps) {
    TrainOptions options;
    options.shape = GptShape{2, 4, 32, vocab, vocab, 16};
    options.init_seed = 7;
    options.train_pattern = dir + "/train_*.bin";
    options.val_pattern = dir + "/val_*.bin";
    options.eval_windows = 8;
    options.seq_len = 16;
    options.global_batch = 8;
    options.micro_batch = 4;  // accumulation 2
    options.steps = steps;
    options.schedule = LrSchedule{3e-3, 2, steps, 0.1};
    options.log_every = 0;
    return options;
  }

  static inline std::optional<testing::SingleRankGrid> one_;
  static inline std::string dir_;
  static inline uint32_t seed_ = 0;
};

TEST_F(U32TrainTest, Uint32ShardsTrainBitIdenticallyToUint16Shards) {
  constexpr int64_t kVocab = 300;
  const std::vector<uint32_t> train = Ids(20000, kVocab, seed_, true), val = Ids(2000, kVocab, seed_ + 1, true);
  const std::string narrow = WriteData("u16", train, val, false), wide = WriteData("u32", train, val, true);
  ASSERT_EQ(std::filesystem::file_size(wide + "/train_000000.bin"), 1024 + 4 * train.size());

  std::vector<std::vector<float>> losses(2);
  std::vector<float> val_loss(2);
  std::vector<std::vector<float>> params(2);
  for (int i = 0; i < 2; ++i) {
    auto trainer = Trainer::Create(Options(i == 0 ? narrow : wide, kVocab, 12), one_->grid.get());
    ASSERT_TRUE(trainer.ok()) << trainer.status();
    ASSERT_TRUE(testing::RunSteps(**trainer, &losses[i], i == 0 ? "uint16" : "uint32"));
    absl::StatusOr<float> eval = (*trainer)->Evaluate();
    ASSERT_TRUE(eval.ok()) << eval.status();
    val_loss[i] = *eval;
    params[i].resize((*trainer)->model().buffer_size());
    ASSERT_TRUE((*trainer)->GetParameters(params[i].data()).ok());
  }
  ASSERT_EQ(losses[0].size(), 12u);
  for (size_t s = 0; s < losses[0].size(); ++s) {
    EXPECT_EQ(std::memcmp(&losses[0][s], &losses[1][s], sizeof(float)), 0)
        << "step " << s << ": uint16 " << losses[0][s] << " vs uint32 " << losses[1][s];
  }
  EXPECT_LT(losses[0].back(), losses[0].front()) << "the run did not learn: the comparison would be vacuous";
  EXPECT_EQ(std::memcmp(&val_loss[0], &val_loss[1], sizeof(float)), 0) << val_loss[0] << " vs " << val_loss[1];
  EXPECT_EQ(params[0], params[1]) << "parameters differ after 12 steps";
}

TEST_F(U32TrainTest, VocabularyAbove65536WithIdsAbove65535Trains) {
  constexpr int64_t kVocab = 70000;
  // Uniform ids: ~6% above 65,535 in every batch; plus a run of the largest ids at the start of the stream.
  std::vector<uint32_t> train = Ids(6000, kVocab, seed_ + 2, false), val = Ids(600, kVocab, seed_ + 3, false);
  for (int i = 0; i < 40; ++i) train[i] = static_cast<uint32_t>(kVocab - 1 - i);
  size_t above = 0;
  for (uint32_t id : train) above += id > 65535;
  ASSERT_GT(above, 100u);
  const std::string dir = WriteData("wide_vocab", train, val, true);
  std::vector<float> losses;
  auto trainer = Trainer::Create(Options(dir, kVocab, 4), one_->grid.get());
  ASSERT_TRUE(trainer.ok()) << trainer.status();
  // The trainer's batches of the 4 steps hold the written ids, those above 65,535 included.
  size_t batch_above = 0;
  for (int64_t step = 0; step < 4; ++step) {
    for (int micro = 0; micro < (*trainer)->accumulation_steps(); ++micro) {
      absl::StatusOr<TokenBatch> batch = (*trainer)->train_loader().MicroBatchAt(step, micro);
      ASSERT_TRUE(batch.ok()) << batch.status();
      for (int64_t r = 0; r < batch->batch_size; ++r) {
        for (int64_t t = 0; t < batch->seq_len; ++t) {
          const uint32_t want = train[batch->windows[r] * batch->seq_len + t];
          ASSERT_EQ(static_cast<uint32_t>(batch->inputs[r * batch->seq_len + t]), want) << "step " << step;
          batch_above += want > 65535;
        }
      }
    }
  }
  EXPECT_GT(batch_above, 0u) << "no id above 65,535 reached the model";
  ASSERT_TRUE(testing::RunSteps(**trainer, &losses, "vocab 70000"));
  // GPT-2 initialization (std 0.02) gives near-uniform logits: the first loss is ln(70000) = 11.156 within 0.05.
  EXPECT_NEAR(losses.front(), std::log(70000.0), 0.05);
  for (float loss : losses) EXPECT_TRUE(std::isfinite(loss)) << loss;
  absl::StatusOr<float> eval = (*trainer)->Evaluate();
  ASSERT_TRUE(eval.ok()) << eval.status();
  EXPECT_TRUE(std::isfinite(*eval));
}

TEST_F(U32TrainTest, AnIdAtOrAboveTheModelVocabularyIsRefusedByFileAndOffset) {
  constexpr int64_t kVocab = 70000;
  std::vector<uint32_t> train = Ids(6000, kVocab, seed_ + 4, false);
  std::mt19937 gen(seed_);
  const size_t bad = std::uniform_int_distribution<size_t>(0, train.size() - 1)(gen);
  train[bad] = kVocab;
  const std::string dir = WriteData("bad_id", train, Ids(600, kVocab, seed_ + 5, false), true);
  auto trainer = Trainer::Create(Options(dir, kVocab, 1), one_->grid.get());
  ASSERT_FALSE(trainer.ok());
  EXPECT_EQ(trainer.status().code(), absl::StatusCode::kOutOfRange) << trainer.status();
  EXPECT_NE(trainer.status().message().find(absl::StrCat(
                "token shard ", dir, "/train_000000.bin: token 70000 at position ", bad, " (byte offset ",
                1024 + 4 * bad, ") is >= the vocab size 70000")),
            std::string::npos)
      << trainer.status();
  // The same shard trains with a model one token larger.
  EXPECT_TRUE(Trainer::Create(Options(dir, kVocab + 1, 1), one_->grid.get()).ok());
}

}  // namespace
}  // namespace kachi
