// Single-process tests of the save path's pieces: the pipelined chunked write (its crc32 equals the whole file's
// for sizes that are and are not multiples of the chunk, zero bytes included, with chunk buffers reused as a device
// download would; write and fetch errors name the path and end every stage), the two-phase ShardSnapshot on host
// state, and shards whose parameters come from fp32 master weights split across ZeRO-1 ranks (mixed precision),
// which must restore exactly what a plain checkpoint of the same values restores, at tp = 1 and resharded to tp = 2.

#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/ckpt/checkpoint_paths.h"
#include "runtime/ckpt/checkpoint_reader.h"
#include "runtime/ckpt/chunked_write.h"
#include "runtime/ckpt/commit.h"
#include "runtime/ckpt/inspect.h"
#include "runtime/ckpt/manifest.h"
#include "runtime/ckpt/shard_io.h"
#include "runtime/ckpt/shard_snapshot.h"
#include "runtime/ckpt/verify.h"
#include "runtime/io/tensor_shard.h"
#include "tests/ckpt/ckpt_file_util.h"

namespace kachi::ckpt {
namespace {

namespace fs = std::filesystem;

std::string MakeTempDir() { return testing::MakeTempDir("kachi_ckpt_snapshot"); }
using testing::RandomBytes;

std::string ReadAll(const std::string& path) {
  std::string bytes(static_cast<size_t>(fs::file_size(path)), '\0');
  EXPECT_TRUE(ReadFileRange(path, 0, static_cast<int64_t>(bytes.size()), bytes.data()).ok());
  return bytes;
}

// A fetch that copies each chunk into its slot's buffer, as a device download does, and scribbles over the slot
// first (so a slot handed out again before its chunk was checksummed and written would show in the file or crc).
struct SlotFetch {
  const std::string* bytes;
  std::vector<std::string> slots;
  SlotFetch(const std::string* b, int count, int64_t chunk) : bytes(b), slots(count, std::string(chunk, '\0')) {}
  absl::StatusOr<const char*> operator()(int64_t offset, int64_t size, int slot) {
    std::string& buffer = slots[static_cast<size_t>(slot)];
    std::memset(buffer.data(), 0xA5, buffer.size());
    std::memcpy(buffer.data(), bytes->data() + offset, static_cast<size_t>(size));
    return static_cast<const char*>(buffer.data());
  }
};

TEST(ChunkedWriteTest, CrcOfChunkedWriteEqualsCrcOfTheWholeFile) {
  const std::string dir = MakeTempDir();
  const int64_t chunk = 4096;
  for (const bool overlap : {true, false}) {
    for (const int64_t size : {int64_t{1}, chunk - 1, chunk, chunk + 1, 3 * chunk + 7, 64 * chunk + 4093}) {
      const std::string bytes = RandomBytes(static_cast<size_t>(size), static_cast<uint64_t>(size));
      ChunkedWriteOptions options;
      options.chunk_bytes = chunk;
      options.slots = 2;
      options.overlap_crc = overlap;
      SlotFetch fetch(&bytes, options.slots, chunk);
      const std::string path = dir + "/f.bin";
      absl::StatusOr<FileDigest> digest =
          WriteChunkedFile(path, size, [&](int64_t o, int64_t n, int s) { return fetch(o, n, s); }, options);
      ASSERT_TRUE(digest.ok()) << digest.status();
      EXPECT_EQ(digest->bytes, size);
      EXPECT_EQ(digest->crc32, Crc32(bytes)) << "size " << size << " overlap " << overlap;
      EXPECT_EQ(ReadAll(path), bytes) << "size " << size << " overlap " << overlap;
      absl::StatusOr<FileDigest> read = DigestFile(path);
      ASSERT_TRUE(read.ok());
      EXPECT_EQ(read->crc32, digest->crc32);
    }
  }
  fs::remove_all(dir);
}

TEST(ChunkedWriteTest, ZeroBytesMakesAnEmptyFile) {
  const std::string dir = MakeTempDir();
  int fetches = 0;
  absl::StatusOr<FileDigest> digest = WriteChunkedFile(dir + "/empty.bin", 0, [&](int64_t, int64_t, int) {
    ++fetches;
    return absl::StatusOr<const char*>(nullptr);
  });
  ASSERT_TRUE(digest.ok()) << digest.status();
  EXPECT_EQ(digest->bytes, 0);
  EXPECT_EQ(digest->crc32, 0u);
  EXPECT_EQ(fetches, 0);
  EXPECT_TRUE(fs::exists(dir + "/empty.bin"));
  EXPECT_EQ(fs::file_size(dir + "/empty.bin"), 0u);
  fs::remove_all(dir);
}

TEST(ChunkedWriteTest, PauseHookWritesEverythingAroundThePause) {
  const std::string dir = MakeTempDir();
  const std::string bytes = RandomBytes(10000, 3);
  for (const int64_t after : {int64_t{0}, int64_t{4096}, int64_t{5000}, int64_t{10000}}) {
    ChunkedWriteOptions options;
    options.chunk_bytes = 4096;
    options.pause = WritePause{after, 0.001};
    absl::StatusOr<FileDigest> digest = WriteChunkedFile(
        dir + "/p.bin", 10000,
        [&](int64_t o, int64_t, int) { return absl::StatusOr<const char*>(bytes.data() + o); }, options);
    ASSERT_TRUE(digest.ok()) << digest.status();
    EXPECT_EQ(ReadAll(dir + "/p.bin"), bytes) << "pause after " << after;
  }
  fs::remove_all(dir);
}

TEST(ChunkedWriteTest, WriteErrorNamesThePathAndEndsEveryStage) {
  const std::string dir = MakeTempDir();
  const std::string path = dir + "/big.bin";
  const std::string bytes = RandomBytes(1 << 20, 5);
  ChunkedWriteOptions options;
  options.chunk_bytes = 64 << 10;
  SlotFetch fetch(&bytes, options.slots, options.chunk_bytes);
  absl::StatusOr<FileDigest> digest = absl::UnknownError("not written");
  {
    testing::ScopedFileSizeLimit limit(100000);  // write(2) fails with EFBIG part way
    ASSERT_TRUE(limit.ok());
    digest = WriteChunkedFile(
        path, static_cast<int64_t>(bytes.size()), [&](int64_t o, int64_t n, int s) { return fetch(o, n, s); },
        options);
  }
  ASSERT_FALSE(digest.ok());
  EXPECT_NE(digest.status().message().find(path), std::string::npos) << digest.status();
  EXPECT_NE(digest.status().message().find("write"), std::string::npos) << digest.status();
  fs::remove_all(dir);
}

TEST(ChunkedWriteTest, FetchErrorNamesThePathAndTheBytes) {
  const std::string dir = MakeTempDir();
  const std::string bytes = RandomBytes(5 * 4096, 6);
  ChunkedWriteOptions options;
  options.chunk_bytes = 4096;
  absl::StatusOr<FileDigest> digest = WriteChunkedFile(
      dir + "/f.bin", static_cast<int64_t>(bytes.size()),
      [&](int64_t offset, int64_t, int) -> absl::StatusOr<const char*> {
        if (offset >= 2 * 4096) return absl::InternalError("device download failed");
        return bytes.data() + offset;
      },
      options);
  ASSERT_FALSE(digest.ok());
  EXPECT_NE(digest.status().message().find(dir + "/f.bin"), std::string::npos) << digest.status();
  EXPECT_NE(digest.status().message().find("[8192, 12288)"), std::string::npos) << digest.status();
  EXPECT_NE(digest.status().message().find("device download failed"), std::string::npos) << digest.status();
  fs::remove_all(dir);
}

// The model of the snapshot tests (vocabulary 64, context 16).
const GptShape kShape{2, 4, 32, 64, 64, 16};

// A ZeRO-1 rank's optimizer state over `range` with recognizable moments, and fp32 master weights of the range.
struct FakeRank {
  std::unique_ptr<ShardedAdamW> optimizer;
  std::vector<float> master;
};

float MasterValue(int64_t flat) { return 0.001f * static_cast<float>(flat % 997) - 0.3f; }

FakeRank MakeRank(const ParameterLayout& layout, FlatRange range, int64_t model_size) {
  FakeRank rank;
  rank.optimizer = std::make_unique<ShardedAdamW>(layout, range, true, nullptr, nullptr, AdamWOptions{});
  for (int64_t flat = range.begin; flat < range.end; ++flat) {
    const bool padding = flat >= model_size;
    rank.optimizer->first_moment()[flat - range.begin] = padding ? 0.0f : 1e-3f * static_cast<float>(flat % 101);
    rank.optimizer->second_moment()[flat - range.begin] = padding ? 0.0f : 1e-6f * static_cast<float>(flat % 89);
    rank.master.push_back(padding ? 0.0f : MasterValue(flat));
  }
  return rank;
}

// Writes and commits step `step` of `dir` from one ShardSource per rank of a (dp, tp = 1) layout.
void SaveCheckpoint(const std::string& dir, int64_t step, int dp, bool zero1, int64_t buffer_size,
                    const std::vector<ShardSource>& sources) {
  const std::string temp = TempStepDirPath(dir, step, 1);
  std::vector<ShardRecord> records;
  for (const ShardSource& source : sources) {
    ShardSnapshot snapshot;
    SnapshotOptions options;
    options.chunk_bytes = 1000;  // several chunks per shard, not a multiple of 4
    ASSERT_TRUE(snapshot.Take(source, options).ok());
    absl::StatusOr<ShardRecord> record = WriteShard(temp, &snapshot);
    ASSERT_TRUE(record.ok()) << record.status();
    records.push_back(*record);
  }
  Manifest manifest;
  manifest.set_step(step);
  LayoutRecord* layout = manifest.mutable_layout();
  layout->set_dp(dp);
  layout->set_tp(1);
  layout->set_zero1(zero1);
  layout->set_buffer_size(buffer_size);
  *manifest.mutable_shape() = ShapeToProto(kShape);
  AddTensorRecords(kShape, 1, &manifest);
  ASSERT_TRUE(CommitCheckpoint(dir, temp, manifest, records).ok());
}

TEST(ShardSnapshotTest, HostSnapshotWritesTheRecordedSegmentsWithTheirCrc) {
  const std::string dir = MakeTempDir();
  const ParameterLayout layout(kShape, 0, 1);
  const int64_t n = layout.total_size();
  std::vector<float> params(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) params[static_cast<size_t>(i)] = MasterValue(i);
  FakeRank rank = MakeRank(layout, FlatRange{0, n}, n);
  ShardSource source;
  source.model_size = n;
  source.params = params.data();
  source.optimizer = rank.optimizer.get();
  ShardSnapshot snapshot;
  ASSERT_TRUE(snapshot.Take(source, SnapshotOptions{true, 4096, true}).ok());
  EXPECT_FALSE(snapshot.on_device());
  EXPECT_EQ(snapshot.size(), 3 * n * 4);
  ASSERT_EQ(snapshot.record().segments_size(), 3);
  params[0] = 42.0f;  // the snapshot is a copy: later training does not change it
  absl::StatusOr<ShardRecord> record = WriteShard(dir, &snapshot);
  ASSERT_TRUE(record.ok()) << record.status();
  const std::string bytes = ReadAll(dir + "/" + record->file());
  EXPECT_EQ(record->crc32(), Crc32(bytes));
  EXPECT_EQ(record->bytes(), 3 * n * 4);
  float first = 0;
  std::memcpy(&first, bytes.data(), 4);
  EXPECT_EQ(first, MasterValue(0));
  std::memcpy(&first, bytes.data() + record->segments(1).byte_offset() + 4 * 5, 4);
  EXPECT_EQ(first, rank.optimizer->first_moment()[5]);
  fs::remove_all(dir);
}

TEST(ShardSnapshotTest, EmptyShardIsWrittenAndRecorded) {
  const std::string dir = MakeTempDir();
  const ParameterLayout layout(kShape, 0, 1);
  FakeRank rank = MakeRank(layout, FlatRange{0, layout.total_size()}, layout.total_size());
  ShardSource source;  // dp rank 1 without ZeRO-1: writes nothing
  source.rank = 1;
  source.dp_rank = 1;
  source.model_size = layout.total_size();
  source.optimizer = rank.optimizer.get();
  ShardSnapshot snapshot;
  ASSERT_TRUE(snapshot.Take(source).ok());
  EXPECT_EQ(snapshot.size(), 0);
  absl::StatusOr<ShardRecord> record = WriteShard(dir, &snapshot);
  ASSERT_TRUE(record.ok()) << record.status();
  EXPECT_EQ(record->bytes(), 0);
  EXPECT_EQ(record->crc32(), 0u);
  EXPECT_EQ(record->segments_size(), 0);
  EXPECT_EQ(fs::file_size(dir + "/" + ShardFileName(1)), 0u);
  fs::remove_all(dir);
}

TEST(ShardSnapshotTest, MasterWeightsSplitAcrossZero1RanksRestoreExactly) {
  const std::string dir = MakeTempDir();
  const ParameterLayout layout(kShape, 0, 1);
  const int64_t model_size = layout.total_size();
  const int dp = 5;  // ranges not aligned to tensors, the last one with ZeRO padding
  const int64_t shard = (model_size + dp - 1) / dp;
  const int64_t buffer_size = shard * dp;
  ASSERT_GT(buffer_size, model_size);
  // bf16-like working copies: what a mixed-precision model holds; the checkpoint must hold the masters instead.
  std::vector<float> working(static_cast<size_t>(buffer_size), 0.0f);
  for (int64_t i = 0; i < model_size; ++i) working[static_cast<size_t>(i)] = MasterValue(i) + 1.0f / 512;
  std::vector<FakeRank> ranks;
  std::vector<ShardSource> mixed;
  for (int r = 0; r < dp; ++r) {
    ranks.push_back(MakeRank(layout, FlatRange{r * shard, (r + 1) * shard}, model_size));
    ShardSource source;
    source.rank = r;
    source.dp_rank = r;
    source.zero1 = true;
    source.model_size = model_size;
    source.params = working.data();
    source.master = ranks.back().master.data();
    source.optimizer = ranks.back().optimizer.get();
    mixed.push_back(source);
  }
  SaveCheckpoint(dir + "/mixed", 10, dp, true, buffer_size, mixed);
  // The same values saved the fp32 way: params = the masters, written whole by dp rank 0.
  std::vector<float> masters(static_cast<size_t>(buffer_size), 0.0f);
  for (int64_t i = 0; i < model_size; ++i) masters[static_cast<size_t>(i)] = MasterValue(i);
  std::vector<ShardSource> plain = mixed;
  for (ShardSource& source : plain) {
    source.params = masters.data();
    source.master = nullptr;
  }
  SaveCheckpoint(dir + "/plain", 10, dp, true, buffer_size, plain);

  absl::StatusOr<CheckpointReader> mixed_reader = CheckpointReader::Open(StepDirPath(dir + "/mixed", 10));
  absl::StatusOr<CheckpointReader> plain_reader = CheckpointReader::Open(StepDirPath(dir + "/plain", 10));
  ASSERT_TRUE(mixed_reader.ok()) << mixed_reader.status();
  ASSERT_TRUE(plain_reader.ok()) << plain_reader.status();
  EXPECT_TRUE(VerifyShards(mixed_reader->path(), mixed_reader->manifest()).empty());
  absl::StatusOr<std::string> inspected = InspectCheckpoints(dir + "/mixed");
  ASSERT_TRUE(inspected.ok()) << inspected.status();
  EXPECT_NE(inspected->find("step_00000010  OK"), std::string::npos) << *inspected;
  EXPECT_NE(inspected->find("split by optimizer range"), std::string::npos) << *inspected;
  EXPECT_EQ(inspected->find("MISMATCH"), std::string::npos) << *inspected;
  // Every rank's shard holds PARAMS for exactly its range (clipped to the model).
  for (int r = 0; r < dp; ++r) {
    const ShardRecord& record = mixed_reader->manifest().shards(r);
    ASSERT_GE(record.segments_size(), 1);
    EXPECT_EQ(record.segments(0).kind(), Segment::PARAMS);
    EXPECT_EQ(record.segments(0).flat_begin(), r * shard);
    EXPECT_EQ(record.segments(0).flat_end(), std::min((r + 1) * shard, model_size));
  }
  // Same layout: parameters are the masters, moments as saved, identical to the plain checkpoint.
  std::vector<float> params(static_cast<size_t>(model_size)), plain_params(params.size());
  ASSERT_TRUE(mixed_reader->LoadParameters(layout, params.data()).ok());
  ASSERT_TRUE(plain_reader->LoadParameters(layout, plain_params.data()).ok());
  EXPECT_EQ(params, plain_params);
  EXPECT_EQ(params, std::vector<float>(masters.begin(), masters.begin() + model_size));
  std::vector<float> m(static_cast<size_t>(buffer_size)), v(m.size()), plain_m(m.size()), plain_v(m.size());
  ASSERT_TRUE(mixed_reader->LoadMoments(layout, FlatRange{0, buffer_size}, m.data(), v.data()).ok());
  ASSERT_TRUE(plain_reader->LoadMoments(layout, FlatRange{0, buffer_size}, plain_m.data(), plain_v.data()).ok());
  EXPECT_EQ(m, plain_m);
  EXPECT_EQ(v, plain_v);
  for (int r = 0; r < dp; ++r) {
    for (int64_t flat = r * shard; flat < std::min((r + 1) * shard, model_size); ++flat) {
      ShardedAdamW& optimizer = *ranks[static_cast<size_t>(r)].optimizer;
      ASSERT_EQ(m[static_cast<size_t>(flat)], optimizer.first_moment()[flat - r * shard]);
    }
  }
  // Resharded to tp = 2: each piece is the masters' piece.
  for (int tp_rank = 0; tp_rank < 2; ++tp_rank) {
    const ParameterLayout target(kShape, tp_rank, 2);
    std::vector<float> local(static_cast<size_t>(target.total_size()));
    ASSERT_TRUE(mixed_reader->LoadParameters(target, local.data()).ok());
    for (const ParameterSpec& spec : target.tensors()) {
      const ParameterSpec* whole = nullptr;
      for (const ParameterSpec& s : layout.tensors()) {
        if (s.name == spec.name) whole = &s;
      }
      ASSERT_NE(whole, nullptr);
      std::vector<float> global(static_cast<size_t>(GlobalElementCount(*whole)));
      AssembleGlobal(*whole, masters.data() + whole->offset, global.data());
      std::vector<float> expected(static_cast<size_t>(spec.size));
      ExtractLocal(spec, global.data(), expected.data());
      EXPECT_EQ(std::vector<float>(local.begin() + spec.offset, local.begin() + spec.offset + spec.size), expected)
          << spec.name << " at tp rank " << tp_rank;
    }
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace kachi::ckpt
