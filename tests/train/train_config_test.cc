// Clear errors for impossible training configurations: heads not divisible by tp, batch not divisible by
// micro-batch x dp, sequence longer than the context, vocabulary padding, missing data, bad presets (run under
// mpirun -np 1: Trainer::Create needs a grid).
#include <string>

#include "gtest/gtest.h"
#include "runtime/config/config.h"
#include "runtime/config/overrides.h"
#include "runtime/train/train_config.h"
#include "runtime/train/trainer.h"
#include "tests/lib/single_rank_grid.h"

namespace kachi {
namespace {

config::KachiConfig Parse(const std::string& text) {
  auto parsed = ParseConfigText(text, "test.pbtxt");
  EXPECT_TRUE(parsed.ok()) << parsed.status();
  return parsed.ok() ? *parsed : config::KachiConfig();
}

// A valid tiny configuration the tests break one field at a time.
constexpr char kValid[] = R"pb(
  model { preset: "tiny" layers: 2 heads: 4 width: 32 vocab_size: 256 context: 32 }
  parallel { tp: 2 }
  train { seq_len: 32 global_batch: 8 micro_batch: 2 steps: 3 }
  data { train: "/nonexistent/train_*.bin" }
)pb";

// kValid with --set style overrides applied.
config::KachiConfig ValidWith(const std::vector<std::string>& overrides) {
  config::KachiConfig config = Parse(kValid);
  const absl::Status status = ApplyOverrides(overrides, &config);
  EXPECT_TRUE(status.ok()) << status;
  return config;
}

// The error TrainOptionsFromConfig gives for kValid with `overrides` on `world` ranks ("" when it succeeds).
std::string ErrorFor(const std::vector<std::string>& overrides, int world = 4) {
  const config::KachiConfig config = ValidWith(overrides);
  absl::StatusOr<ParallelLayout> layout = LayoutFromConfig(config, world);
  if (!layout.ok()) return std::string(layout.status().message());
  absl::StatusOr<TrainOptions> options = TrainOptionsFromConfig(config, *layout);
  return options.ok() ? "" : std::string(options.status().message());
}

TEST(TrainConfigTest, ValidConfigResolves) {
  const config::KachiConfig config = Parse(kValid);
  auto layout = LayoutFromConfig(config, 4);
  ASSERT_TRUE(layout.ok()) << layout.status();
  EXPECT_EQ(layout->dp, 2);
  EXPECT_EQ(layout->tp, 2);
  auto options = TrainOptionsFromConfig(config, *layout);
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->shape.layers, 2);
  EXPECT_EQ(options->shape.width, 32);
  EXPECT_EQ(options->shape.padded_vocab, 256);
  EXPECT_EQ(options->schedule.total_steps, 3);
  EXPECT_FALSE(options->overlap_grad_reduce.has_value());  // the default: decided by the backend
}

TEST(TrainConfigTest, OverlapGradReduceCanBeTurnedOff) {
  const config::KachiConfig config = ValidWith({"parallel.overlap_grad_reduce=false"});
  auto layout = LayoutFromConfig(config, 4);
  ASSERT_TRUE(layout.ok()) << layout.status();
  auto options = TrainOptionsFromConfig(config, *layout);
  ASSERT_TRUE(options.ok()) << options.status();
  ASSERT_TRUE(options->overlap_grad_reduce.has_value());
  EXPECT_FALSE(*options->overlap_grad_reduce);
}

TEST(TrainConfigTest, ImpossibleConfigsNameTheirField) {
  // Each case: overrides, and a piece of the message that names the field and the rule.
  const std::pair<std::vector<std::string>, std::string> cases[] = {
      {{"model.heads=3", "model.width=33"}, "divisible by the tensor-parallel width tp=2"},
      {{"model.heads=6"}, "width 32 is not divisible by its 6 heads"},
      {{"train.global_batch=6"}, "train.global_batch = 6"},
      {{"train.seq_len=64"}, "model context = 32"},
      {{"data.train="}, "data.train is empty"},
      {{"model.preset=gpt5"}, "unknown model preset 'gpt5'"},
      {{"parallel.tp=3"}, "parallel.tp = 3"},
      {{"parallel.dp=4"}, "parallel.dp = 4"},
      {{"train.eval_windows=6"}, "train.eval_windows = 6"},
      {{"optimizer.lr=-1"}, "optimizer"},
  };
  for (const auto& [overrides, expected] : cases) {
    const std::string error = ErrorFor(overrides);
    EXPECT_NE(error.find(expected), std::string::npos) << "overrides " << overrides[0] << ": got '" << error << "'";
  }
}

TEST(TrainConfigTest, VocabularyIsPaddedForTensorParallelism) {
  // 250 real tokens, padded to a multiple of 64 and of tp = 4: 256.
  const config::KachiConfig config = ValidWith({"model.vocab_size=250", "model.vocab_multiple=64"});
  auto shape = ShapeFromConfig(config.model(), 4);
  ASSERT_TRUE(shape.ok()) << shape.status();
  EXPECT_EQ(shape->vocab_size, 250);
  EXPECT_EQ(shape->padded_vocab, 256);
  auto odd = ShapeFromConfig(ValidWith({"model.vocab_size=250", "model.vocab_multiple=1"}).model(), 4);
  ASSERT_TRUE(odd.ok()) << odd.status();
  EXPECT_EQ(odd->padded_vocab, 252);  // lcm(1, 4) = 4
}

TEST(TrainConfigTest, MissingDataIsReportedWithItsPath) {
  auto one = testing::CreateSingleRankGrid();
  ASSERT_TRUE(one.ok()) << one.status();
  const config::KachiConfig config = ValidWith({"parallel.tp=1"});
  auto options = TrainOptionsFromConfig(config, ParallelLayout{1, 1, false});
  ASSERT_TRUE(options.ok()) << options.status();
  auto trainer = Trainer::Create(*options, one->grid.get());
  ASSERT_FALSE(trainer.ok());
  EXPECT_NE(std::string(trainer.status().message()).find("/nonexistent/train_*.bin"), std::string::npos)
      << trainer.status();
}

}  // namespace
}  // namespace kachi
