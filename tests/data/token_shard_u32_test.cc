// Tests for reading llm.c's uint32 token shards (magic 20240801, version 7) next to the uint16 ones: fresh random
// ids (many above 65,535) read back equal to the written values through every accessor, the header checks of the
// uint32 variant, the vocabulary check naming file, token, position and byte offset (one code path for both
// widths), ids above int32 refused, and uint16/uint32 shards mixed in one stream and in the train and eval loaders
// giving exactly the batches of all-uint16 shards with the same ids.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gtest/gtest.h"
#include "runtime/data/eval_loader.h"
#include "runtime/data/token_shard.h"
#include "runtime/data/token_stream.h"
#include "runtime/data/train_loader.h"
#include "tests/data/data_test_util.h"

namespace kachi {
namespace {

using ::kachi::testing::ReadFileBytes;
using ::kachi::testing::ScopedTempDirs;
using ::kachi::testing::WriteFileBytes;

// A fresh seed per run, printed so that a failure can be repeated with KACHI_TEST_SEED.
uint64_t FreshSeed() {
  const char* fixed = std::getenv("KACHI_TEST_SEED");
  const uint64_t seed = fixed != nullptr ? std::strtoull(fixed, nullptr, 10) : std::random_device{}();
  std::printf("token_shard_u32_test seed %llu (KACHI_TEST_SEED repeats it)\n", static_cast<unsigned long long>(seed));
  return seed;
}

// `n` ids uniform in [0, limit).
std::vector<uint32_t> RandomIds(size_t n, uint64_t seed, uint32_t limit) {
  std::mt19937_64 generator(seed);
  std::uniform_int_distribution<uint32_t> dist(0, limit - 1);
  std::vector<uint32_t> ids(n);
  for (auto& id : ids) id = dist(generator);
  return ids;
}

// A uint32 shard's bytes laid out by hand as llm.c's data_common.py writes them.
std::string HandBuiltU32Shard(int32_t magic, int32_t version, int32_t count, const std::vector<uint32_t>& ids) {
  std::vector<int32_t> header(kTokenShardHeaderWords, 0);
  header[0] = magic;
  header[1] = version;
  header[2] = count;
  std::string bytes(reinterpret_cast<const char*>(header.data()), kTokenShardHeaderBytes);
  bytes.append(reinterpret_cast<const char*>(ids.data()), ids.size() * sizeof(uint32_t));
  return bytes;
}

std::vector<uint16_t> Narrow(const std::vector<uint32_t>& ids) { return std::vector<uint16_t>(ids.begin(), ids.end()); }

class TokenShardU32Test : public ::testing::Test {
 protected:
  ScopedTempDirs temp_dirs_;  // declared first: outlives the paths below
  std::string dir_ = temp_dirs_.Make("token_shard_u32");
  uint64_t seed_ = FreshSeed();
};

TEST_F(TokenShardU32Test, RandomIdsAbove65535ReadBackAsWritten) {
  // Ids up to 2^31 - 1: about 97% of them above 65,535 (the largest a uint16 shard holds).
  std::vector<uint32_t> ids = RandomIds(10007, seed_, uint32_t{1} << 31);
  ids[17] = (uint32_t{1} << 31) - 1;  // the largest id that fits int32
  ids[18] = 65536;
  ids[19] = 0;
  const std::string path = dir_ + "/train_000000.bin";
  ASSERT_TRUE(WriteTokenShardU32(path, ids).ok());
  EXPECT_EQ(ReadFileBytes(path), HandBuiltU32Shard(20240801, 7, 10007, ids)) << "not llm.c's layout";

  absl::StatusOr<TokenShard> shard = TokenShard::Open(path);
  ASSERT_TRUE(shard.ok()) << shard.status();
  EXPECT_EQ(shard->token_bytes(), 4u);
  EXPECT_EQ(shard->size(), ids.size());
  EXPECT_TRUE(shard->tokens().empty()) << "a uint32 shard has no uint16 view";
  EXPECT_EQ(std::vector<uint32_t>(shard->tokens_u32().begin(), shard->tokens_u32().end()), ids);
  // CopyTokens (what the loaders use) over a random range and over the whole shard.
  std::mt19937_64 generator(seed_ + 1);
  const size_t start = std::uniform_int_distribution<size_t>(0, ids.size() - 1)(generator);
  const size_t count = std::uniform_int_distribution<size_t>(0, ids.size() - start)(generator);
  std::vector<int32_t> copied(count);
  shard->CopyTokens(start, count, copied.data());
  for (size_t i = 0; i < count; ++i) ASSERT_EQ(static_cast<uint32_t>(copied[i]), ids[start + i]) << start + i;
  std::vector<int32_t> all(ids.size());
  shard->CopyTokens(0, ids.size(), all.data());
  for (size_t i = 0; i < ids.size(); ++i) ASSERT_EQ(static_cast<uint32_t>(all[i]), ids[i]) << i;
  EXPECT_EQ(all[17], 2147483647);
  // Moving keeps the mapping and the width.
  TokenShard moved = *std::move(shard);
  EXPECT_EQ(moved.token_bytes(), 4u);
  EXPECT_EQ(moved.tokens_u32()[4321], ids[4321]);

  absl::StatusOr<std::vector<uint32_t>> read = ReadTokenShardU32(path);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, ids);
  // The uint16 reader refuses by name instead of truncating.
  absl::StatusOr<std::vector<uint16_t>> narrow = ReadTokenShard(path);
  ASSERT_FALSE(narrow.ok());
  EXPECT_EQ(narrow.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(narrow.status().message().find(path), std::string::npos) << narrow.status();
}

TEST_F(TokenShardU32Test, Uint16ShardsReadWidenedAndWithTheirWidth) {
  const std::vector<uint32_t> ids = RandomIds(999, seed_, 65536);
  const std::string path = dir_ + "/u16.bin";
  ASSERT_TRUE(WriteTokenShard(path, Narrow(ids)).ok());
  absl::StatusOr<TokenShard> shard = TokenShard::Open(path);
  ASSERT_TRUE(shard.ok()) << shard.status();
  EXPECT_EQ(shard->token_bytes(), 2u);
  EXPECT_TRUE(shard->tokens_u32().empty());
  absl::StatusOr<std::vector<uint32_t>> read = ReadTokenShardU32(path);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, ids);
}

TEST_F(TokenShardU32Test, VocabCheckNamesFileTokenPositionAndByteOffsetForBothWidths) {
  constexpr uint32_t kVocab = 70000;
  std::vector<uint32_t> ids = RandomIds(3000, seed_, kVocab);
  std::mt19937_64 generator(seed_ + 2);
  const size_t bad = std::uniform_int_distribution<size_t>(0, ids.size() - 1)(generator);
  ids[bad] = kVocab;
  const std::string path = dir_ + "/vocab_u32.bin";
  ASSERT_TRUE(WriteTokenShardU32(path, ids).ok());
  EXPECT_TRUE(TokenShard::Open(path, kVocab + 1).ok());
  absl::StatusOr<TokenShard> shard = TokenShard::Open(path, kVocab);
  ASSERT_FALSE(shard.ok());
  EXPECT_EQ(shard.status().code(), absl::StatusCode::kOutOfRange);
  const std::string want = absl::StrCat("token shard ", path, ": token 70000 at position ", bad, " (byte offset ",
                                        1024 + 4 * bad, ") is >= the vocab size 70000");
  EXPECT_EQ(shard.status().message(), want);

  // The same check, same message, on a uint16 shard (2-byte offsets).
  std::vector<uint16_t> narrow = Narrow(RandomIds(3000, seed_ + 3, 256));
  narrow[bad] = 256;
  const std::string path16 = dir_ + "/vocab_u16.bin";
  ASSERT_TRUE(WriteTokenShard(path16, narrow).ok());
  absl::StatusOr<TokenShard> shard16 = TokenShard::Open(path16, 256);
  ASSERT_FALSE(shard16.ok());
  EXPECT_EQ(shard16.status().message(), absl::StrCat("token shard ", path16, ": token 256 at position ", bad,
                                                     " (byte offset ", 1024 + 2 * bad, ") is >= the vocab size 256"));
}

TEST_F(TokenShardU32Test, IdsAboveInt32AreRefusedEvenWithoutAVocabulary) {
  std::vector<uint32_t> ids = RandomIds(100, seed_, 1000);
  ids[42] = uint32_t{1} << 31;
  const std::string path = dir_ + "/huge.bin";
  ASSERT_TRUE(WriteTokenShardU32(path, ids).ok());
  absl::StatusOr<TokenShard> shard = TokenShard::Open(path);
  ASSERT_FALSE(shard.ok());
  EXPECT_EQ(shard.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_NE(shard.status().message().find("token 2147483648 at position 42 (byte offset 1192)"), std::string::npos)
      << shard.status();
  EXPECT_NE(shard.status().message().find(path), std::string::npos) << shard.status();
}

TEST_F(TokenShardU32Test, HeaderChecksOfTheUint32Variant) {
  const std::vector<uint32_t> ids = RandomIds(64, seed_, 100000);
  struct Case {
    int32_t magic, version, count;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {20240801, 1, 64, "version is 1, expected 7 (uint32 tokens) for magic 20240801"},
      {20240520, 7, 64, "version is 7, expected 1 (uint16 tokens) for magic 20240520"},
      {20240802, 7, 64, "magic is 20240802"},
      // A uint32 payload under a uint16 header, and a count that disagrees with the size.
      {20240520, 1, 64, "header says 64 tokens of 2 bytes"},
      {20240801, 7, 65, "header says 65 tokens of 4 bytes"},
      {20240801, 7, 128, "header says 128 tokens of 4 bytes"},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    const std::string path = absl::StrFormat("%s/case_%d.bin", dir_, i);
    WriteFileBytes(path, HandBuiltU32Shard(cases[i].magic, cases[i].version, cases[i].count, ids));
    absl::StatusOr<TokenShard> shard = TokenShard::Open(path);
    ASSERT_FALSE(shard.ok()) << cases[i].expected;
    EXPECT_EQ(shard.status().code(), absl::StatusCode::kDataLoss) << shard.status();
    EXPECT_NE(shard.status().message().find(path), std::string::npos) << shard.status();
    EXPECT_NE(shard.status().message().find(cases[i].expected), std::string::npos) << shard.status();
  }
  // A uint16 header over half the count reads (the bytes are a valid uint16 shard of 128 tokens).
  WriteFileBytes(dir_ + "/as_u16.bin", HandBuiltU32Shard(20240520, 1, 128, ids));
  EXPECT_TRUE(TokenShard::Open(dir_ + "/as_u16.bin").ok());
}

// Writes `ids` as shards PREFIX_000000.bin, ... of `per_shard` ids each; shard i is uint32 when `wide(i)`.
template <typename Wide>
void WriteShards(const std::string& prefix, const std::vector<uint32_t>& ids, size_t per_shard, Wide wide) {
  for (size_t i = 0, start = 0; start < ids.size(); ++i, start += per_shard) {
    const std::vector<uint32_t> part(ids.begin() + start, ids.begin() + std::min(ids.size(), start + per_shard));
    const std::string path = absl::StrFormat("%s_%06d.bin", prefix, i);
    ASSERT_TRUE(wide(i) ? WriteTokenShardU32(path, part).ok() : WriteTokenShard(path, Narrow(part)).ok()) << path;
  }
}

TEST_F(TokenShardU32Test, MixedWidthsInOneStreamAndLoadersGiveTheBatchesOfUint16Shards) {
  constexpr int kVocab = 65536;  // every id fits both widths
  const std::vector<uint32_t> ids = RandomIds(5003, seed_, kVocab);
  // Same ids three ways: all uint16, all uint32, and alternating (7 shards of 731: windows span shard borders).
  for (const char* kind : {"u16", "u32", "mix"}) std::filesystem::create_directories(absl::StrCat(dir_, "/", kind));
  WriteShards(dir_ + "/u16/train", ids, 731, [](size_t) { return false; });
  WriteShards(dir_ + "/u32/train", ids, 731, [](size_t) { return true; });
  WriteShards(dir_ + "/mix/train", ids, 731, [](size_t i) { return i % 2 == 1; });

  for (const char* kind : {"u32", "mix"}) {
    absl::StatusOr<TokenStream> stream = TokenStream::Open(absl::StrCat(dir_, "/", kind, "/train_*.bin"), kVocab);
    ASSERT_TRUE(stream.ok()) << stream.status();
    ASSERT_EQ(stream->num_tokens(), static_cast<int64_t>(ids.size()));
    std::vector<int32_t> all(ids.size());
    stream->CopyTokens(0, stream->num_tokens(), all.data());
    for (size_t i = 0; i < ids.size(); ++i) ASSERT_EQ(static_cast<uint32_t>(all[i]), ids[i]) << kind << " at " << i;
  }

  // Train loader, 2 data-parallel ranks, several epochs' worth of steps: identical batches for every layout.
  for (int rank = 0; rank < 2; ++rank) {
    auto open = [&](const std::string& kind) {
      TrainLoaderOptions options;
      options.pattern = absl::StrCat(dir_, "/", kind, "/train_*.bin");
      options.seq_len = 64;
      options.global_batch = 8;
      options.micro_batch = 2;
      options.dp_size = 2;
      options.dp_rank = rank;
      options.seed = seed_;
      options.vocab_size = kVocab;
      return TrainLoader::Open(options);
    };
    absl::StatusOr<TrainLoader> u16 = open("u16"), u32 = open("u32"), mix = open("mix");
    ASSERT_TRUE(u16.ok() && u32.ok() && mix.ok()) << u16.status() << u32.status() << mix.status();
    for (int64_t step = 0; step < 25; ++step) {
      for (int micro = 0; micro < u16->accumulation_steps(); ++micro) {
        absl::StatusOr<TokenBatch> a = u16->MicroBatchAt(step, micro), b = u32->MicroBatchAt(step, micro),
                                   c = mix->MicroBatchAt(step, micro);
        ASSERT_TRUE(a.ok() && b.ok() && c.ok());
        ASSERT_EQ(a->inputs, b->inputs) << "step " << step;
        ASSERT_EQ(a->targets, b->targets) << "step " << step;
        ASSERT_EQ(a->windows, b->windows) << "step " << step;
        ASSERT_EQ(a->inputs, c->inputs) << "step " << step;
        ASSERT_EQ(a->targets, c->targets) << "step " << step;
      }
    }
    // Eval loader on the same shards: the same fixed windows.
    auto open_eval = [&](const std::string& kind) {
      EvalLoaderOptions options;
      options.pattern = absl::StrCat(dir_, "/", kind, "/train_*.bin");
      options.seq_len = 64;
      options.num_windows = 64;
      options.micro_batch = 4;
      options.dp_size = 2;
      options.dp_rank = rank;
      options.vocab_size = kVocab;
      return EvalLoader::Open(options);
    };
    absl::StatusOr<EvalLoader> e16 = open_eval("u16"), e32 = open_eval("mix");
    ASSERT_TRUE(e16.ok() && e32.ok()) << e16.status() << e32.status();
    for (int64_t j = 0; j < e16->num_batches(); ++j) {
      ASSERT_EQ(e16->Batch(j)->inputs, e32->Batch(j)->inputs) << "eval batch " << j;
      ASSERT_EQ(e16->Batch(j)->targets, e32->Batch(j)->targets) << "eval batch " << j;
    }
  }
}

}  // namespace
}  // namespace kachi
