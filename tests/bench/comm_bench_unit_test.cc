// Unit tests of the comm benchmark's pieces: the size sweep, option checks, collective shapes and bus factors,
// the input pattern and its reference, result comparison, the median and the table row format.
#include <random>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "bench/comm/bench_stats.h"
#include "bench/comm/bench_table.h"
#include "bench/comm/collective_bench.h"
#include "bench/comm/comm_bench_options.h"
#include "bench/comm/input_pattern.h"
#include "gtest/gtest.h"

namespace kachi {
namespace {

TEST(CommBenchOptionsTest, SweepStepsByTheFactorUpToMax) {
  CommBenchOptions options;
  options.min_bytes = 16;
  options.max_bytes = 64 << 20;
  options.step_factor = 4;
  const std::vector<size_t> sizes = SweepSizes(options);
  ASSERT_EQ(sizes.size(), 12u);
  EXPECT_EQ(sizes.front(), 16u);
  EXPECT_EQ(sizes[8], size_t{1} << 20);
  EXPECT_EQ(sizes.back(), size_t{64} << 20);
  options.max_bytes = 100;  // 16, 64 (256 would pass max)
  EXPECT_EQ(SweepSizes(options), (std::vector<size_t>{16, 64}));
}

TEST(CommBenchOptionsTest, OutOfRangeSettingsAreNamed) {
  CommBenchOptions options;
  options.collectives = {CollectiveKind::kAllReduce};
  EXPECT_TRUE(ValidateCommBenchOptions(options).ok());
  options.min_bytes = 2048;
  options.max_bytes = 1024;
  EXPECT_TRUE(absl::StrContains(ValidateCommBenchOptions(options).message(), "min_bytes 2048"));
  options.max_bytes = 4096;
  options.step_factor = 1;
  EXPECT_TRUE(absl::StrContains(ValidateCommBenchOptions(options).message(), "step_factor 1"));
  options.step_factor = 2;
  options.repeats = 0;
  EXPECT_TRUE(absl::StrContains(ValidateCommBenchOptions(options).message(), "repeats 0"));
}

TEST(CommBenchOptionsTest, ConfigSectionIsTranslated) {
  config::CommBenchConfig section;
  section.add_collectives("all_gather");
  section.add_dtypes("bf16");
  section.set_min_bytes(64);
  section.set_max_bytes(4096);
  absl::StatusOr<CommBenchOptions> options = CommBenchOptionsFromConfig(section, "max", 7);
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->collectives, std::vector<CollectiveKind>{CollectiveKind::kAllGather});
  EXPECT_EQ(options->dtypes, std::vector<DType>{DType::kBFloat16});
  EXPECT_EQ(options->op, ReduceOp::kMax);
  EXPECT_EQ(options->repeats, 7);
  section.add_collectives("all_to_all");
  absl::StatusOr<CommBenchOptions> bad = CommBenchOptionsFromConfig(section, "sum", 7);
  EXPECT_TRUE(absl::StrContains(bad.status().message(), "all_to_all")) << bad.status();
  EXPECT_FALSE(CommBenchOptionsFromConfig(config::CommBenchConfig(), "mean", 7).ok());
}

TEST(CollectiveBenchTest, ShapesAndBusFactorsFollowNcclTests) {
  const int ranks = 4;
  const size_t bytes = 4096 + 12;  // not a multiple of ranks * 4: rounded down to whole blocks
  auto all_reduce = NewAllReduceBench();
  EXPECT_EQ(all_reduce->Shape(bytes, DType::kFloat32, ranks).call_count, 1027u);
  EXPECT_DOUBLE_EQ(all_reduce->BusFactor(ranks), 1.5);
  auto reduce_scatter = NewReduceScatterBench();
  const BenchShape rs = reduce_scatter->Shape(bytes, DType::kFloat32, ranks);
  EXPECT_EQ(rs.call_count, 256u);
  EXPECT_EQ(rs.send_count, 1024u);
  EXPECT_EQ(rs.recv_count, 256u);
  EXPECT_DOUBLE_EQ(reduce_scatter->BusFactor(ranks), 0.75);
  auto all_gather = NewAllGatherBench();
  const BenchShape ag = all_gather->Shape(bytes, DType::kFloat32, ranks);
  EXPECT_EQ(ag.send_count, 256u);
  EXPECT_EQ(ag.recv_count, 1024u);
  auto broadcast = NewBroadcastBench();
  EXPECT_DOUBLE_EQ(broadcast->BusFactor(ranks), 1.0);
  EXPECT_TRUE(broadcast->input_in_recv());
  EXPECT_EQ(reduce_scatter->Shape(8, DType::kFloat32, ranks).call_count, 0u);  // too small for 4 ranks
  EXPECT_EQ(NewCollectiveBench(CollectiveKind::kBarrier), nullptr);
}

TEST(InputPatternTest, SmallNonZeroIntegersExactInEveryDType) {
  std::mt19937_64 gen(99);
  const uint64_t seed = gen();
  for (DType dtype : kAllDTypes) {
    const std::vector<uint8_t> bytes = EncodePattern(dtype, seed, 3, 500);
    for (size_t i = 0; i < 500; ++i) {
      const int64_t value = PatternValue(seed, 3, i);
      ASSERT_GE(value, 1);
      ASSERT_LE(value, 8);
      ASSERT_EQ(DecodeElement(dtype, bytes.data(), i), static_cast<double>(value)) << DTypeName(dtype);
    }
  }
  EXPECT_NE(PatternValue(seed, 0, 1), PatternValue(seed, 1, 1) + 100);  // defined for every rank
}

TEST(InputPatternTest, ReferenceReductionsAndComparison) {
  const uint64_t seed = std::mt19937_64(5)();
  const int ranks = 3;
  int64_t sum = 0, max = 0;
  for (int r = 0; r < ranks; ++r) {
    sum += PatternValue(seed, r, 17);
    max = std::max(max, PatternValue(seed, r, 17));
  }
  EXPECT_EQ(ReducedPattern(DType::kFloat32, ReduceOp::kSum, seed, ranks, 17), sum);
  EXPECT_EQ(ReducedPattern(DType::kInt32, ReduceOp::kMax, seed, ranks, 17), max);
  EXPECT_EQ(ReducedPattern(DType::kInt64, ReduceOp::kAvg, seed, ranks, 17), sum / ranks);
  EXPECT_DOUBLE_EQ(ReducedPattern(DType::kFloat32, ReduceOp::kAvg, seed, ranks, 17), sum / 3.0);

  std::vector<uint8_t> good = EncodePattern(DType::kInt32, seed, 1, 10);
  auto expected = [&](size_t i) { return static_cast<double>(PatternValue(seed, 1, i)); };
  EXPECT_TRUE(CompareWithExpected(DType::kInt32, good, 10, false, expected).ok());
  good[4 * 6] ^= 0x10;  // element 6 changes
  const absl::Status wrong = CompareWithExpected(DType::kInt32, good, 10, false, expected);
  EXPECT_TRUE(absl::StrContains(wrong.message(), "element 6 of 10")) << wrong;
}

TEST(BenchStatsTest, MedianOfOddAndEvenCounts) {
  EXPECT_DOUBLE_EQ(Median({5.0, 1.0, 3.0}), 3.0);
  EXPECT_DOUBLE_EQ(Median({4.0, 1.0, 3.0, 2.0}), 2.5);
  EXPECT_DOUBLE_EQ(Median({}), 0.0);
}

TEST(BenchTableTest, RowHasTenFieldsAndDerivedBandwidths) {
  BenchRow row;
  row.bytes = 1 << 20;
  row.count = (1 << 20) / 4;
  row.redop = "sum";
  row.kachi_us = 1000;
  row.raw_us = 800;
  row.bus_factor = 1.5;
  row.check = "ok";
  const std::vector<std::string> fields = absl::StrSplit(FormatRow(row), ' ', absl::SkipEmpty());
  ASSERT_EQ(fields.size(), static_cast<size_t>(kBenchRowFields));
  EXPECT_EQ(fields[0], "1048576");
  EXPECT_EQ(fields[5], "1.049");  // 1 MiB in 1 ms
  EXPECT_EQ(fields[6], "1.573");
  EXPECT_EQ(fields[8], "1.25");
  row.raw_us = 30000;  // a raw sample hit by a load spike: the ratio keeps its significant digits, never "0.000"
  const std::vector<std::string> spiked = absl::StrSplit(FormatRow(row), ' ', absl::SkipEmpty());
  EXPECT_EQ(spiked[8], "0.0333");
  row.raw_us = -1;
  const std::vector<std::string> no_raw = absl::StrSplit(FormatRow(row), ' ', absl::SkipEmpty());
  EXPECT_EQ(no_raw[7], "n/a");
  EXPECT_EQ(no_raw[8], "n/a");
  const std::vector<std::string> columns = absl::StrSplit(TableColumns("MPI"), ' ', absl::SkipEmpty());
  EXPECT_EQ(columns.size(), static_cast<size_t>(kBenchRowFields) + 1);  // '#' and ten titles
}

}  // namespace
}  // namespace kachi
