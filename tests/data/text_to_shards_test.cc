// Tests for text-to-shard conversion and `kachi data`: end to end into a temp dir (counts, shard sizes, the
// deterministic val split), option parsing and the errors for bad inputs.
#include "runtime/data/text_to_shards.h"

#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gtest/gtest.h"
#include "runtime/data/byte_tokenizer.h"
#include "launcher/data_command.h"
#include "runtime/data/token_shard.h"
#include "tests/data/data_test_util.h"

namespace kachi {
namespace {

using ::kachi::testing::ScopedTempDirs;
using ::kachi::testing::RandomBytes;
using ::kachi::testing::WriteFileBytes;

// The bytes stored in the given shards, concatenated (each shard checked against the byte vocabulary).
std::string ShardBytes(const std::vector<std::string>& paths) {
  std::string bytes;
  for (const std::string& path : paths) {
    absl::StatusOr<std::vector<uint16_t>> tokens = ReadTokenShard(path, kByteVocabSize);
    EXPECT_TRUE(tokens.ok()) << tokens.status();
    if (!tokens.ok()) continue;
    absl::StatusOr<std::string> text = ByteDetokenize(*tokens);
    EXPECT_TRUE(text.ok()) << text.status();
    bytes += text.value_or("");
  }
  return bytes;
}

// Shard paths DIR/PREFIX_000000.bin ... that exist, in order.
std::vector<std::string> ExistingShards(const std::string& dir, const std::string& prefix) {
  std::vector<std::string> paths;
  for (int i = 0;; ++i) {
    const std::string path = absl::StrFormat("%s/%s_%06d.bin", dir, prefix, i);
    if (!std::filesystem::exists(path)) return paths;
    paths.push_back(path);
  }
}

class TextToShardsTest : public ::testing::Test {
 protected:
  ScopedTempDirs temp_dirs_;  // declared first: outlives the paths below
  void SetUp() override {
    input_dir_ = temp_dirs_.Make("text_in");
    first_ = RandomBytes(2345, /*seed=*/21);
    second_ = RandomBytes(1777, /*seed=*/22);
    WriteFileBytes(input_dir_ + "/first.txt", first_);
    WriteFileBytes(input_dir_ + "/second.txt", second_);
  }
  std::vector<std::string> Inputs() const { return {input_dir_ + "/first.txt", input_dir_ + "/second.txt"}; }

  std::string input_dir_;
  std::string first_;
  std::string second_;
};

TEST_F(TextToShardsTest, DataCommandEndToEnd) {
  const std::string out = temp_dirs_.Make("text_out") + "/shards";  // created by the command
  std::vector<std::string> args = {"--out", out, "--val_fraction", "0.25", "--shard_tokens=1000"};
  for (const std::string& input : Inputs()) args.push_back(input);

  ::testing::internal::CaptureStdout();
  const int exit_code = DataCommand(args);
  const std::string printed = ::testing::internal::GetCapturedStdout();
  ASSERT_EQ(exit_code, 0) << printed;

  // Val = the last floor(n * 0.25) bytes of each file; train = the rest; files in order.
  const size_t first_val = static_cast<size_t>(std::floor(first_.size() * 0.25));
  const size_t second_val = static_cast<size_t>(std::floor(second_.size() * 0.25));
  const std::string expected_train =
      first_.substr(0, first_.size() - first_val) + second_.substr(0, second_.size() - second_val);
  const std::string expected_val = first_.substr(first_.size() - first_val) + second_.substr(second_.size() - second_val);

  const std::vector<std::string> train = ExistingShards(out, "train");
  const std::vector<std::string> val = ExistingShards(out, "val");
  const size_t train_shards = (expected_train.size() + 999) / 1000;
  const size_t val_shards = (expected_val.size() + 999) / 1000;
  ASSERT_EQ(train.size(), train_shards);
  ASSERT_EQ(val.size(), val_shards);
  for (size_t i = 0; i + 1 < train.size(); ++i) EXPECT_EQ(ReadTokenShard(train[i])->size(), 1000u) << train[i];
  EXPECT_EQ(ShardBytes(train), expected_train);
  EXPECT_EQ(ShardBytes(val), expected_val);

  EXPECT_NE(printed.find(absl::StrCat("train: ", expected_train.size(), " tokens in ", train_shards, " shard(s)")),
            std::string::npos)
      << printed;
  EXPECT_NE(printed.find(absl::StrCat("val:   ", expected_val.size(), " tokens in ", val_shards, " shard(s)")),
            std::string::npos)
      << printed;
}

TEST_F(TextToShardsTest, ZeroValFractionWritesOnlyTrain) {
  TextToShardsOptions options;
  options.input_files = Inputs();
  options.out_dir = temp_dirs_.Make("text_noval");
  options.val_fraction = 0.0;
  options.shard_tokens = 8192;
  absl::StatusOr<TextToShardsResult> result = TextToShards(options);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->train_tokens, static_cast<int64_t>(first_.size() + second_.size()));
  EXPECT_EQ(result->val_tokens, 0);
  EXPECT_TRUE(result->val_shards.empty());
  ASSERT_EQ(result->train_shards.size(), 1u);
  EXPECT_EQ(ShardBytes(result->train_shards), first_ + second_);
}

TEST_F(TextToShardsTest, RefusesDirectoryThatAlreadyHoldsShards) {
  TextToShardsOptions options;
  options.input_files = Inputs();
  options.out_dir = temp_dirs_.Make("text_twice");
  ASSERT_TRUE(TextToShards(options).ok());
  absl::StatusOr<TextToShardsResult> again = TextToShards(options);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(again.status().message().find("already holds shard"), std::string::npos) << again.status();
}

TEST_F(TextToShardsTest, MissingInputIsNamedAndNothingIsWritten) {
  TextToShardsOptions options;
  const std::string missing = input_dir_ + "/no_such_file.txt";
  options.input_files = {Inputs()[0], missing};
  options.out_dir = temp_dirs_.Make("text_missing");
  absl::StatusOr<TextToShardsResult> result = TextToShards(options);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(result.status().message().find(missing), std::string::npos) << result.status();
  EXPECT_TRUE(ExistingShards(options.out_dir, "train").empty());
  // The command reports the same failure with exit code 1.
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(DataCommand({"--out", options.out_dir, missing}), 1);
  EXPECT_NE(::testing::internal::GetCapturedStderr().find(missing), std::string::npos);
}

TEST_F(TextToShardsTest, RejectsBadOptions) {
  TextToShardsOptions options;
  options.input_files = Inputs();
  options.out_dir = temp_dirs_.Make("text_bad");
  options.val_fraction = 1.0;
  EXPECT_EQ(TextToShards(options).status().code(), absl::StatusCode::kInvalidArgument);
  options.val_fraction = 0.1;
  options.shard_tokens = 0;
  EXPECT_EQ(TextToShards(options).status().code(), absl::StatusCode::kInvalidArgument);
  options.shard_tokens = 100;
  options.input_files.clear();
  EXPECT_EQ(TextToShards(options).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(DataCommandArgsTest, ParsesBothOptionFormsAndPositionalFiles) {
  absl::StatusOr<TextToShardsOptions> options =
      ParseDataCommandArgs({"a.txt", "--out=/tmp/x", "--val_fraction", "0.3", "b.txt", "--shard_tokens", "77"});
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->out_dir, "/tmp/x");
  EXPECT_DOUBLE_EQ(options->val_fraction, 0.3);
  EXPECT_EQ(options->shard_tokens, 77);
  EXPECT_EQ(options->input_files, (std::vector<std::string>{"a.txt", "b.txt"}));
}

TEST(DataCommandArgsTest, RejectsUnknownOptionMissingValueAndBadNumbers) {
  EXPECT_NE(ParseDataCommandArgs({"--outdir", "x"}).status().message().find("unknown option --outdir"),
            std::string::npos);
  EXPECT_NE(ParseDataCommandArgs({"a.txt", "--out"}).status().message().find("needs a value"), std::string::npos);
  EXPECT_NE(ParseDataCommandArgs({"--shard_tokens", "many"}).status().message().find("'many'"), std::string::npos);
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(DataCommand({"--val_fraction", "lots"}), 2);
  EXPECT_NE(::testing::internal::GetCapturedStderr().find("usage: kachi data"), std::string::npos);
}

}  // namespace
}  // namespace kachi
