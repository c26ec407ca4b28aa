// Allocation failures in the ops' memory surface as absl::Status, never as a null-pointer kernel: over a CPU ModelOps
// whose allocations above a byte limit fail (as a full device's would), the model's parameter buffers, its
// activations (a micro-batch too large fails, a smaller one afterwards runs) and the optimizer's moments each report
// ResourceExhausted naming what did not fit; fp32 and bf16.
#include <cmath>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/model/gpt_model.h"
#include "runtime/model/profiling_ops.h"
#include "runtime/train/optimizer.h"
#include "tests/test_util.h"

namespace kachi {
namespace {

const GptShape kShape{2, 4, 32, 60, 64, 16};

// The CPU ops, with every allocation of more than `limit` bytes failing (null).
class LimitedOps : public ProfilingOps {
 public:
  explicit LimitedOps(size_t limit) : ProfilingOps(&CpuModelOps()), limit_(limit) {}
  float* AllocateFloats(int64_t count) override {
    return Fits(count * sizeof(float)) ? ProfilingOps::AllocateFloats(count) : nullptr;
  }
  int32_t* AllocateInts(int64_t count) override {
    return Fits(count * sizeof(int32_t)) ? ProfilingOps::AllocateInts(count) : nullptr;
  }
  void* AllocateBytes(size_t bytes) override { return Fits(bytes) ? ProfilingOps::AllocateBytes(bytes) : nullptr; }

 private:
  bool Fits(size_t bytes) const { return bytes <= limit_; }
  size_t limit_;
};

bool Mentions(const absl::Status& status, const std::string& text) {
  return std::string(status.message()).find(text) != std::string::npos;
}

class AllocationFailureTest : public ::testing::TestWithParam<DType> {
 protected:
  // Bytes of one flat parameter buffer in the compute type.
  int64_t ParamBytes() const {
    const ParameterLayout layout(kShape, 0, 1);
    return layout.total_size() * (GetParam() == DType::kBFloat16 ? 2 : 4);
  }
};

TEST_P(AllocationFailureTest, ParametersThatDoNotFitAreReportedByEveryCall) {
  LimitedOps ops(ParamBytes() - 1);
  GptModel model(kShape, nullptr, 1, &ops, GetParam());
  const absl::Status status = model.allocation_status();
  ASSERT_EQ(status.code(), absl::StatusCode::kResourceExhausted) << status;
  EXPECT_TRUE(Mentions(status, "model parameters")) << status;
  EXPECT_TRUE(Mentions(status, "cpu memory")) << status;
  EXPECT_EQ(model.Initialize(7).code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(model.ZeroGrads().code(), absl::StatusCode::kResourceExhausted);
  std::vector<int32_t> tokens(16, 3);
  EXPECT_EQ(model.Loss(tokens.data(), tokens.data(), 1, 16).status().code(), absl::StatusCode::kResourceExhausted);
}

TEST_P(AllocationFailureTest, ActivationsThatDoNotFitFailThenASmallerMicroBatchRuns) {
  // The parameters fit; the MLP activations [batch * seq_len, 4 * width] of 16 x 16 tokens (128 KiB in fp32) do not.
  LimitedOps ops(std::max<int64_t>(ParamBytes(), 2 * 16 * 4 * kShape.width * 4));
  GptModel model(kShape, nullptr, 1, &ops, GetParam());
  ASSERT_TRUE(model.allocation_status().ok()) << model.allocation_status();
  ASSERT_TRUE(model.Initialize(11).ok());
  const std::vector<float> values = testing::RandomFloats(16 * 16, 5, 0.0f, 59.99f);
  std::vector<int32_t> tokens(values.size());
  for (size_t i = 0; i < values.size(); ++i) tokens[i] = static_cast<int32_t>(values[i]);
  absl::StatusOr<float> loss = model.Loss(tokens.data(), tokens.data(), 16, 16);
  ASSERT_EQ(loss.status().code(), absl::StatusCode::kResourceExhausted) << loss.status();
  EXPECT_TRUE(Mentions(loss.status(), "micro-batch of 16 x 16 tokens")) << loss.status();
  loss = model.ForwardBackward(tokens.data(), tokens.data() + 1, 2, 16, 1.0f);
  ASSERT_TRUE(loss.ok()) << loss.status();
  EXPECT_TRUE(std::isfinite(*loss));
  EXPECT_NEAR(*loss, std::log(60.0), 0.5);  // a fresh model is close to uniform over the 60 tokens
}

TEST_P(AllocationFailureTest, OptimizerMomentsThatDoNotFitAreReported) {
  const ParameterLayout layout(kShape, 0, 1);
  LimitedOps ops(layout.total_size() * sizeof(float) - 1);
  ShardedAdamW optimizer(layout, FlatRange{0, layout.total_size()}, false, nullptr, nullptr, AdamWOptions{}, &ops,
                         GetParam() == DType::kBFloat16);
  const absl::Status status = optimizer.allocation_status();
  ASSERT_EQ(status.code(), absl::StatusCode::kResourceExhausted) << status;
  EXPECT_TRUE(Mentions(status, "optimizer state")) << status;
  LimitedOps roomy(layout.total_size() * sizeof(float));
  ShardedAdamW fits(layout, FlatRange{0, layout.total_size()}, false, nullptr, nullptr, AdamWOptions{}, &roomy,
                    GetParam() == DType::kBFloat16);
  EXPECT_TRUE(fits.allocation_status().ok()) << fits.allocation_status();
}

INSTANTIATE_TEST_SUITE_P(Precisions, AllocationFailureTest, ::testing::Values(DType::kFloat32, DType::kBFloat16),
                         [](const ::testing::TestParamInfo<DType>& info) {
                           return info.param == DType::kBFloat16 ? std::string("bf16") : std::string("fp32");
                         });

}  // namespace
}  // namespace kachi
