// kachi::cuda softmax cross-entropy pieces against kachi::cpu's in double, on fresh seeded random logits (bf16
// logits rounded first), outputs poisoned with NaN before each run. Shards cover aligned rows, odd row lengths
// (rows starting off a 16-byte boundary), padding columns, targets owned by other shards (vocab_start > 0), the
// GPT-2 vocabulary width, and the backward both in place over the logits and into a separate buffer.
// Tolerances (||out - ref|| / ||ref|| and max |out - ref| / max |ref|): the float statistics (max, sum, target,
// loss) 1e-5 for both logit types; dlogits 1e-5 for fp32 and 1e-2 for bf16 (its own rounding).
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "gtest/gtest.h"
#include "kernels/cross_entropy.h"
#include "kernels/cross_entropy_cuda.h"
#include "tests/cuda_matmul/cuda_test_buffers.h"
#include "tests/kernels/kernel_test_util.h"
#include "tests/test_util.h"

namespace kachi::testing {
namespace {

constexpr double kStatisticsTolerance = 1e-5;

template <typename T>
double GradientTolerance() {
  return std::is_same_v<T, float> ? 1e-5 : 1e-2;
}

// One vocabulary shard: logits [rows, cols], the first valid_cols real, ids from vocab_start.
struct Shard {
  int64_t rows, cols, valid_cols, vocab_start;
};

std::string Describe(const std::string& type, const Shard& shard) {
  return type + " " + std::to_string(shard.rows) + "x" + std::to_string(shard.cols) + " valid " +
         std::to_string(shard.valid_cols) + " from " + std::to_string(shard.vocab_start);
}

// Targets: even rows inside this shard, odd rows anywhere in [0, vocab_start + valid_cols + 1000) (mostly other
// shards when vocab_start > 0).
std::vector<int32_t> ShardTargets(const Shard& shard, uint64_t seed) {
  std::mt19937_64 gen(seed);
  std::vector<int32_t> targets(shard.rows);
  for (int64_t n = 0; n < shard.rows; ++n) {
    const int64_t lo = n % 2 == 0 ? shard.vocab_start : 0;
    const int64_t hi = n % 2 == 0 ? shard.vocab_start + shard.valid_cols : shard.vocab_start + shard.valid_cols + 1000;
    targets[n] = static_cast<int32_t>(std::uniform_int_distribution<int64_t>(lo, hi - 1)(gen));
  }
  return targets;
}

template <typename T>
void CheckPieces(const Shard& shard, bool in_place, uint64_t seed) {
  const std::string name = Describe(std::is_same_v<T, float> ? "fp32" : "bf16", shard);
  const std::vector<double> logits_values = RoundedTo<T>(RandomValues(shard.rows * shard.cols, seed, -4, 4));
  const std::vector<int32_t> targets_values = ShardTargets(shard, seed + 1);
  const std::vector<double> dloss_values = RandomValues(shard.rows, seed + 2, 0.1, 1.0);
  const int64_t rows = shard.rows, cols = shard.cols, valid = shard.valid_cols;

  std::vector<double> max_ref(rows), sum_ref(rows), target_ref(rows), loss_ref(rows), dlogits_ref(rows * cols);
  cpu::CrossEntropyRowMax<double>(max_ref.data(), logits_values.data(), rows, cols, valid);
  cpu::CrossEntropyRowSumExp<double>(sum_ref.data(), logits_values.data(), max_ref.data(), rows, cols, valid);
  cpu::CrossEntropyTargetLogit<double>(target_ref.data(), logits_values.data(), targets_values.data(), rows, cols,
                                       valid, shard.vocab_start);
  cpu::CrossEntropyLoss<double>(loss_ref.data(), max_ref.data(), sum_ref.data(), target_ref.data(), rows);
  cpu::CrossEntropyBackward<double>(dlogits_ref.data(), logits_values.data(), max_ref.data(), sum_ref.data(),
                                    targets_values.data(), dloss_values.data(), rows, cols, valid,
                                    shard.vocab_start);

  DeviceArray<T> logits(logits_values.size()), separate_dlogits(logits_values.size());
  DeviceArray<int32_t> targets(rows);
  DeviceArray<float> row_max(rows), row_sum(rows), target_logit(rows), loss(rows), dloss(rows);
  KACHI_ASSERT_CUDA(logits.Upload(logits_values));
  KACHI_ASSERT_CUDA(targets.UploadRaw(targets_values));
  KACHI_ASSERT_CUDA(dloss.Upload(dloss_values));
  for (DeviceArray<float>* output : {&row_max, &row_sum, &target_logit, &loss}) KACHI_ASSERT_CUDA(output->Poison());
  KACHI_ASSERT_CUDA(separate_dlogits.Poison());

  absl::Status status = cuda::CrossEntropyRowMax<T>(row_max.get(), logits.get(), rows, cols, valid, nullptr);
  ASSERT_TRUE(status.ok()) << status;
  status = cuda::CrossEntropyRowSumExp<T>(row_sum.get(), logits.get(), row_max.get(), rows, cols, valid, nullptr);
  ASSERT_TRUE(status.ok()) << status;
  status = cuda::CrossEntropyTargetLogit<T>(target_logit.get(), logits.get(), targets.get(), rows, cols, valid,
                                            shard.vocab_start, nullptr);
  ASSERT_TRUE(status.ok()) << status;
  status = cuda::CrossEntropyLoss(loss.get(), row_max.get(), row_sum.get(), target_logit.get(), rows, nullptr);
  ASSERT_TRUE(status.ok()) << status;
  T* dlogits = in_place ? logits.get() : separate_dlogits.get();
  status = cuda::CrossEntropyBackward<T>(dlogits, logits.get(), row_max.get(), row_sum.get(), targets.get(),
                                         dloss.get(), rows, cols, valid, shard.vocab_start, nullptr);
  ASSERT_TRUE(status.ok()) << status;

  ExpectClose(row_max.Download(), max_ref, kStatisticsTolerance, name + " row_max");
  ExpectClose(row_sum.Download(), sum_ref, kStatisticsTolerance, name + " row_sum");
  ExpectClose(target_logit.Download(), target_ref, kStatisticsTolerance, name + " target_logit");
  ExpectClose(loss.Download(), loss_ref, kStatisticsTolerance, name + " loss");
  ExpectClose((in_place ? logits : separate_dlogits).Download(), dlogits_ref, GradientTolerance<T>(),
              name + (in_place ? " dlogits (in place)" : " dlogits"));
}

template <typename T>
void CheckSingleRankForward(const Shard& shard, uint64_t seed) {
  ASSERT_EQ(shard.vocab_start, 0);
  const std::string name = Describe(std::is_same_v<T, float> ? "fp32" : "bf16", shard) + " forward";
  const std::vector<double> logits_values = RoundedTo<T>(RandomValues(shard.rows * shard.cols, seed, -4, 4));
  const std::vector<int32_t> targets_values =
      testing::RandomTokens(shard.rows, seed + 1, 0, static_cast<int32_t>(shard.valid_cols));
  std::vector<double> loss_ref(shard.rows), max_ref(shard.rows), sum_ref(shard.rows);
  cpu::CrossEntropyForward<double>(loss_ref.data(), max_ref.data(), sum_ref.data(), logits_values.data(),
                                   targets_values.data(), shard.rows, shard.cols, shard.valid_cols);
  DeviceArray<T> logits(logits_values.size());
  DeviceArray<int32_t> targets(shard.rows);
  DeviceArray<float> loss(shard.rows), row_max(shard.rows), row_sum(shard.rows);
  KACHI_ASSERT_CUDA(logits.Upload(logits_values));
  KACHI_ASSERT_CUDA(targets.UploadRaw(targets_values));
  for (DeviceArray<float>* output : {&loss, &row_max, &row_sum}) KACHI_ASSERT_CUDA(output->Poison());
  const absl::Status status = cuda::CrossEntropyForward<T>(loss.get(), row_max.get(), row_sum.get(), logits.get(),
                                                           targets.get(), shard.rows, shard.cols, shard.valid_cols,
                                                           nullptr);
  ASSERT_TRUE(status.ok()) << status;
  ExpectClose(loss.Download(), loss_ref, kStatisticsTolerance, name + " loss");
  ExpectClose(row_max.Download(), max_ref, kStatisticsTolerance, name + " row_max");
  ExpectClose(row_sum.Download(), sum_ref, kStatisticsTolerance, name + " row_sum");
}

// Aligned rows; odd row length (rows start anywhere) with padding and a foreign-target shard; GPT-2's padded vocab.
const Shard kAlignedShard{64, 2048, 2000, 0};
const Shard kOddShard{67, 1003, 997, 2000};
const Shard kGpt2Shard{12, 50304, 50257, 0};

class CudaCrossEntropyTest : public ::testing::Test {
 protected:
  void SetUp() override { KACHI_SKIP_WITHOUT_GPU(); }
};

TEST_F(CudaCrossEntropyTest, PiecesMatchCpuFp32) {
  uint64_t seed = 1000;
  for (const Shard& shard : {kAlignedShard, kOddShard, kGpt2Shard}) {
    CheckPieces<float>(shard, /*in_place=*/true, seed += 10);
    CheckPieces<float>(shard, /*in_place=*/false, seed += 10);
  }
}

TEST_F(CudaCrossEntropyTest, PiecesMatchCpuBf16) {
  uint64_t seed = 2000;
  for (const Shard& shard : {kAlignedShard, kOddShard, kGpt2Shard}) {
    CheckPieces<__nv_bfloat16>(shard, /*in_place=*/true, seed += 10);
    CheckPieces<__nv_bfloat16>(shard, /*in_place=*/false, seed += 10);
  }
}

TEST_F(CudaCrossEntropyTest, OnePassForwardMatchesCpu) {
  uint64_t seed = 3000;
  for (const Shard& shard : {kAlignedShard, Shard{67, 1003, 997, 0}, kGpt2Shard}) {
    CheckSingleRankForward<float>(shard, seed += 10);
    CheckSingleRankForward<__nv_bfloat16>(shard, seed += 10);
  }
}

// A shard with no real columns: max -infinity, sum 0, target 0, and dlogits all zero (every column is padding).
TEST_F(CudaCrossEntropyTest, EmptyShardGivesNeutralStatistics) {
  const int64_t rows = 5, cols = 24;
  DeviceArray<float> logits(rows * cols), row_max(rows), row_sum(rows), target_logit(rows), dloss(rows);
  DeviceArray<int32_t> targets(rows);
  KACHI_ASSERT_CUDA(logits.Upload(RandomValues(rows * cols, 4000)));
  KACHI_ASSERT_CUDA(targets.UploadRaw(testing::RandomTokens(rows, 4001, 0, 100)));
  KACHI_ASSERT_CUDA(dloss.Upload(RandomValues(rows, 4002, 0.1, 1.0)));
  for (DeviceArray<float>* output : {&row_max, &row_sum, &target_logit}) KACHI_ASSERT_CUDA(output->Poison());
  ASSERT_TRUE(cuda::CrossEntropyRowMax<float>(row_max.get(), logits.get(), rows, cols, 0, nullptr).ok());
  ASSERT_TRUE(cuda::CrossEntropyRowSumExp<float>(row_sum.get(), logits.get(), row_max.get(), rows, cols, 0, nullptr)
                  .ok());
  ASSERT_TRUE(
      cuda::CrossEntropyTargetLogit<float>(target_logit.get(), logits.get(), targets.get(), rows, cols, 0, 0, nullptr)
          .ok());
  // Global statistics from other shards for the backward.
  DeviceArray<float> global_max(rows), global_sum(rows);
  KACHI_ASSERT_CUDA(global_max.Upload(RandomValues(rows, 4003)));
  KACHI_ASSERT_CUDA(global_sum.Upload(RandomValues(rows, 4004, 1.0, 5.0)));
  ASSERT_TRUE(cuda::CrossEntropyBackward<float>(logits.get(), logits.get(), global_max.get(), global_sum.get(),
                                                targets.get(), dloss.get(), rows, cols, 0, 0, nullptr)
                  .ok());
  for (double value : row_max.Download()) EXPECT_EQ(value, -std::numeric_limits<double>::infinity());
  for (double value : row_sum.Download()) EXPECT_EQ(value, 0.0);
  for (double value : target_logit.Download()) EXPECT_EQ(value, 0.0);
  for (double value : logits.Download()) EXPECT_EQ(value, 0.0);
}

TEST(CudaCrossEntropyErrorTest, ValidColsBeyondColsAreRejected) {
  const absl::Status status =
      cuda::CrossEntropyRowMax<float>(nullptr, nullptr, /*rows=*/4, /*cols=*/8, /*valid_cols=*/9, nullptr);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_NE(status.message().find("valid_cols=9"), std::string::npos) << status;
}

}  // namespace
}  // namespace kachi::testing
