// Single-process checkpoint pieces: step directory names and the order loaders try them, the retention policy,
// CRC32 and synced writes, and shard verification against a manifest (size and checksum mismatches named by path).
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/ckpt/checkpoint_paths.h"
#include "runtime/ckpt/retention.h"
#include "runtime/ckpt/shard_io.h"
#include "runtime/ckpt/verify.h"
#include "runtime/io/atomic_file.h"
#include "tests/ckpt/ckpt_file_util.h"

namespace kachi::ckpt {
namespace {

namespace fs = std::filesystem;

std::string MakeTempDir() { return testing::MakeTempDir("kachi_ckpt_unit"); }
using testing::RandomBytes;

TEST(CheckpointPathsTest, StepNamesRoundTrip) {
  EXPECT_EQ(StepDirName(10), "step_00000010");
  EXPECT_EQ(ParseStepDirName("step_00000010"), std::optional<int64_t>(10));
  EXPECT_EQ(ParseStepDirName("step_123456789"), std::optional<int64_t>(123456789));
  EXPECT_FALSE(ParseStepDirName("step_").has_value());
  EXPECT_FALSE(ParseStepDirName("step_12a").has_value());
  EXPECT_FALSE(ParseStepDirName(".tmp_step_00000010_5").has_value());
  EXPECT_TRUE(IsTempStepDirName(".tmp_step_00000010_5"));
}

TEST(CheckpointPathsTest, LoadCandidatesStartAtLatestThenGoOlder) {
  const std::string dir = MakeTempDir();
  for (int64_t step : {5, 10, 20}) fs::create_directories(StepDirPath(dir, step));
  fs::create_directories(dir + "/.tmp_step_00000030_7");
  EXPECT_EQ(LoadCandidates(dir), (std::vector<int64_t>{20, 10, 5}));  // no latest: newest first
  ASSERT_TRUE(WriteFileAtomically(dir + "/latest", "step_00000010\n").ok());
  EXPECT_EQ(ReadLatest(dir), std::optional<int64_t>(10));
  EXPECT_EQ(LoadCandidates(dir), (std::vector<int64_t>{10, 5}));  // latest, then older only
  fs::remove_all(dir);
}

TEST(RetentionTest, KeepsLastKEveryMthAndNeverTheOnlyOne) {
  EXPECT_EQ(StepsToDelete({5, 10, 15, 20, 25}, {2, 10}), (std::vector<int64_t>{5, 15}));
  EXPECT_EQ(StepsToDelete({5, 10, 15}, {3, 0}), (std::vector<int64_t>{}));
  EXPECT_EQ(StepsToDelete({30, 10, 20}, {1, 0}), (std::vector<int64_t>{10, 20}));
  EXPECT_EQ(StepsToDelete({7}, {0, 0}), (std::vector<int64_t>{}));  // keep_last < 1 counts as 1
}

TEST(RetentionTest, ApplyDeletesDroppedStepsAndInterruptedSaves) {
  const std::string dir = MakeTempDir();
  for (int64_t step : {5, 10, 15}) {
    fs::create_directories(StepDirPath(dir, step));
    std::ofstream(StepDirPath(dir, step) + "/" + kManifestFile) << "x";
  }
  fs::create_directories(StepDirPath(dir, 20));  // no manifest: not counted, not deleted
  fs::create_directories(dir + "/.tmp_step_00000025_3");
  ASSERT_TRUE(ApplyRetention(dir, {2, 0}).ok());
  EXPECT_EQ(ListStepDirs(dir), (std::vector<int64_t>{10, 15, 20}));
  EXPECT_FALSE(fs::exists(dir + "/.tmp_step_00000025_3"));
  fs::remove_all(dir);
}

TEST(ShardIoTest, Crc32MatchesZlibCheckValueAndFileDigest) {
  EXPECT_EQ(Crc32("123456789"), 0xCBF43926u);
  const std::string bytes = RandomBytes(100001, 42);
  EXPECT_EQ(Crc32(bytes.substr(5000), Crc32(bytes.substr(0, 5000))), Crc32(bytes));
  const std::string dir = MakeTempDir();
  absl::StatusOr<FileDigest> written = WriteSyncedFile(dir + "/a.bin", bytes, WritePause{1000, 0.01});
  ASSERT_TRUE(written.ok()) << written.status();
  absl::StatusOr<FileDigest> read = DigestFile(dir + "/a.bin");
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->bytes, 100001);
  EXPECT_EQ(read->crc32, written->crc32);
  std::string middle(16, '\0');
  ASSERT_TRUE(ReadFileRange(dir + "/a.bin", 777, 16, middle.data()).ok());
  EXPECT_EQ(middle, bytes.substr(777, 16));
  EXPECT_EQ(ReadFileRange(dir + "/a.bin", 100000, 16, middle.data()).code(), absl::StatusCode::kDataLoss);
  fs::remove_all(dir);
}

TEST(VerifyTest, NamesTheShardWithTheWrongSizeOrChecksum) {
  const std::string dir = MakeTempDir();
  Manifest manifest;
  for (int rank = 0; rank < 3; ++rank) {
    const std::string bytes = RandomBytes(4096, 100 + rank);
    ShardRecord* shard = manifest.add_shards();
    shard->set_rank(rank);
    shard->set_file(ShardFileName(rank));
    absl::StatusOr<FileDigest> digest = WriteSyncedFile(dir + "/" + ShardFileName(rank), bytes);
    ASSERT_TRUE(digest.ok());
    shard->set_bytes(digest->bytes);
    shard->set_crc32(digest->crc32);
  }
  EXPECT_TRUE(VerifyShards(dir, manifest).empty());
  fs::resize_file(dir + "/" + ShardFileName(1), 4000);
  {
    std::fstream file(dir + "/" + ShardFileName(2), std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(10);
    file.put('\x5a' ^ RandomBytes(11, 102)[10]);
  }
  const std::vector<std::string> problems = VerifyShards(dir, manifest);
  ASSERT_EQ(problems.size(), 2u);
  EXPECT_NE(problems[0].find(ShardFileName(1)), std::string::npos) << problems[0];
  EXPECT_NE(problems[0].find("size 4000"), std::string::npos) << problems[0];
  EXPECT_NE(problems[1].find(ShardFileName(2)), std::string::npos) << problems[1];
  EXPECT_NE(problems[1].find("crc32"), std::string::npos) << problems[1];
  // Split across two "ranks": each sees only its own shards' problems.
  EXPECT_EQ(VerifyShards(dir, manifest, 0, 2).size(), 1u);
  EXPECT_EQ(VerifyShards(dir, manifest, 1, 2).size(), 1u);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace kachi::ckpt
