// Tests for llm.c token shards (write/read round trip, compatibility with a hand-built llm.c file, and every
// validation error naming the file) and for the byte tokenizer.
#include "runtime/data/token_shard.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "runtime/data/byte_tokenizer.h"
#include "tests/data/data_test_util.h"

namespace kachi {
namespace {

using ::kachi::testing::ScopedTempDirs;
using ::kachi::testing::RandomBytes;
using ::kachi::testing::RandomTokens;
using ::kachi::testing::ReadFileBytes;
using ::kachi::testing::WriteFileBytes;

// A shard file's bytes built by hand, as llm.c's Python writer lays it out.
std::string HandBuiltShard(int32_t magic, int32_t version, int32_t count, const std::vector<uint16_t>& tokens) {
  std::vector<int32_t> header(kTokenShardHeaderWords, 0);
  header[0] = magic;
  header[1] = version;
  header[2] = count;
  std::string bytes(reinterpret_cast<const char*>(header.data()), kTokenShardHeaderBytes);
  bytes.append(reinterpret_cast<const char*>(tokens.data()), tokens.size() * sizeof(uint16_t));
  return bytes;
}

class TokenShardTest : public ::testing::Test {
 protected:
  ScopedTempDirs temp_dirs_;  // declared first: outlives the paths below
  std::string dir_ = temp_dirs_.Make("token_shard");
};

TEST_F(TokenShardTest, WriteReadRoundTrip) {
  const std::vector<uint16_t> tokens = RandomTokens(5003, /*seed=*/11, /*vocab_size=*/50257);
  const std::string path = dir_ + "/round_trip.bin";
  ASSERT_TRUE(WriteTokenShard(path, tokens).ok());

  absl::StatusOr<std::vector<uint16_t>> read = ReadTokenShard(path, 50257);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, tokens);
  // The file is exactly what llm.c writes.
  EXPECT_EQ(ReadFileBytes(path), HandBuiltShard(kTokenShardMagic, kTokenShardVersion, 5003, tokens));

  absl::StatusOr<TokenShard> shard = TokenShard::Open(path);
  ASSERT_TRUE(shard.ok()) << shard.status();
  EXPECT_EQ(shard->size(), tokens.size());
  EXPECT_EQ(shard->path(), path);
  EXPECT_TRUE(std::equal(shard->tokens().begin(), shard->tokens().end(), tokens.begin()));
  // Moving keeps the mapping alive.
  TokenShard moved = *std::move(shard);
  EXPECT_EQ(moved.tokens()[4321], tokens[4321]);
}

TEST_F(TokenShardTest, ReadsHandBuiltLlmcFile) {
  const std::vector<uint16_t> tokens = RandomTokens(777, /*seed=*/12, /*vocab_size=*/50257);
  const std::string path = dir_ + "/llmc.bin";
  WriteFileBytes(path, HandBuiltShard(20240520, 1, 777, tokens));
  absl::StatusOr<std::vector<uint16_t>> read = ReadTokenShard(path);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, tokens);
}

TEST_F(TokenShardTest, EmptyShardRoundTrips) {
  const std::string path = dir_ + "/empty.bin";
  ASSERT_TRUE(WriteTokenShard(path, {}).ok());
  absl::StatusOr<std::vector<uint16_t>> read = ReadTokenShard(path);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_TRUE(read->empty());
}

TEST_F(TokenShardTest, MissingFileIsNotFoundAndNamed) {
  const std::string path = dir_ + "/absent_shard.bin";
  absl::StatusOr<std::vector<uint16_t>> read = ReadTokenShard(path);
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(read.status().message().find(path), std::string::npos) << read.status();
}

TEST_F(TokenShardTest, ShortHeaderIsRejectedAndNamed) {
  const std::string path = dir_ + "/short.bin";
  WriteFileBytes(path, RandomBytes(100, /*seed=*/13));
  absl::StatusOr<std::vector<uint16_t>> read = ReadTokenShard(path);
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(read.status().message().find(path), std::string::npos) << read.status();
  EXPECT_NE(read.status().message().find("100 bytes"), std::string::npos) << read.status();
}

TEST_F(TokenShardTest, BadMagicIsRejectedAndNamed) {
  const std::vector<uint16_t> tokens = RandomTokens(64, /*seed=*/14, 50257);
  const std::string path = dir_ + "/magic.bin";
  WriteFileBytes(path, HandBuiltShard(20240521, 1, 64, tokens));
  absl::StatusOr<std::vector<uint16_t>> read = ReadTokenShard(path);
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(read.status().message().find(path), std::string::npos) << read.status();
  EXPECT_NE(read.status().message().find("magic is 20240521"), std::string::npos) << read.status();
}

TEST_F(TokenShardTest, BadVersionIsRejectedAndNamed) {
  const std::vector<uint16_t> tokens = RandomTokens(64, /*seed=*/15, 50257);
  const std::string path = dir_ + "/version.bin";
  WriteFileBytes(path, HandBuiltShard(kTokenShardMagic, 2, 64, tokens));
  absl::StatusOr<std::vector<uint16_t>> read = ReadTokenShard(path);
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(read.status().message().find(path), std::string::npos) << read.status();
  EXPECT_NE(read.status().message().find("version is 2"), std::string::npos) << read.status();
}

TEST_F(TokenShardTest, SizeMismatchIsRejectedAndNamed) {
  const std::vector<uint16_t> tokens = RandomTokens(64, /*seed=*/16, 50257);
  // Header claims more tokens than the file holds, then fewer.
  for (int32_t claimed : {65, 63}) {
    const std::string path = dir_ + "/size_" + std::to_string(claimed) + ".bin";
    WriteFileBytes(path, HandBuiltShard(kTokenShardMagic, kTokenShardVersion, claimed, tokens));
    absl::StatusOr<std::vector<uint16_t>> read = ReadTokenShard(path);
    ASSERT_FALSE(read.ok()) << "claimed " << claimed;
    EXPECT_EQ(read.status().code(), absl::StatusCode::kDataLoss);
    EXPECT_NE(read.status().message().find(path), std::string::npos) << read.status();
    EXPECT_NE(read.status().message().find(absl::StrCat("header says ", claimed, " tokens")), std::string::npos)
        << read.status();
  }
}

TEST_F(TokenShardTest, TokenAtOrAboveVocabIsRejectedAndNamed) {
  std::vector<uint16_t> tokens = RandomTokens(500, /*seed=*/17, /*vocab_size=*/256);
  tokens[321] = 256;
  const std::string path = dir_ + "/vocab.bin";
  ASSERT_TRUE(WriteTokenShard(path, tokens).ok());
  EXPECT_TRUE(ReadTokenShard(path).ok()) << "no vocab check requested";
  EXPECT_TRUE(ReadTokenShard(path, 257).ok());
  absl::StatusOr<std::vector<uint16_t>> read = ReadTokenShard(path, 256);
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_NE(read.status().message().find(path), std::string::npos) << read.status();
  EXPECT_NE(read.status().message().find("token 256 at position 321"), std::string::npos) << read.status();
}

TEST(ByteTokenizerTest, TokensAreUnsignedByteValuesAndRoundTrip) {
  const std::string bytes = RandomBytes(4096, /*seed=*/18);
  const std::vector<uint16_t> tokens = ByteTokenize(bytes);
  ASSERT_EQ(tokens.size(), bytes.size());
  for (size_t i = 0; i < bytes.size(); ++i) {
    ASSERT_EQ(tokens[i], static_cast<unsigned char>(bytes[i])) << "at " << i;
    ASSERT_LT(tokens[i], kByteVocabSize);
  }
  EXPECT_EQ(ByteTokenize("A\xff"), (std::vector<uint16_t>{65, 255}));
  absl::StatusOr<std::string> text = ByteDetokenize(tokens);
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_EQ(*text, bytes);
}

TEST(ByteTokenizerTest, DetokenizeRejectsNonByteToken) {
  std::vector<uint16_t> tokens = ByteTokenize("hello");
  tokens[3] = 300;
  absl::StatusOr<std::string> text = ByteDetokenize(tokens);
  ASSERT_FALSE(text.ok());
  EXPECT_NE(text.status().message().find("token 300 at position 3"), std::string::npos) << text.status();
}

}  // namespace
}  // namespace kachi
