// kachi::cuda matmuls (cuBLASLt with fused epilogues) against their CPU twins (kernels/matmul.h, kernels/matmul_gelu.h)
// in double, on fresh seeded random inputs (bf16 inputs rounded first, so the reference sees what the GPU sees),
// outputs poisoned with NaN before each run. Every case runs with every epilogue fused (in cuBLASLt, or the fallback
// when cuBLASLt has no algorithm), none fused (plain matmul + kachi kernels), and the mix of fused DGELU with kachi
// bias-gradient column sums. Tolerances, on ||out - ref|| / ||ref|| and on max |out - ref| / max |ref|: fp32 1e-5, tf32
// 2e-3, bf16 1e-2.
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <cstdio>
#include <string>
#include <type_traits>
#include <vector>

#include "gtest/gtest.h"
#include "kernels/gelu.h"
#include "kernels/matmul.h"
#include "kernels/matmul_context_cuda.h"
#include "kernels/matmul_cuda.h"
#include "kernels/matmul_gelu.h"
#include "tests/cuda_matmul/cuda_test_buffers.h"
#include "tests/kernels/kernel_test_util.h"
#include "tests/test_util.h"

namespace kachi::testing {
namespace {

constexpr double kFloatTolerance = 1e-5;
constexpr double kTf32Tolerance = 2e-3;
constexpr double kBf16Tolerance = 1e-2;

template <typename T>
double Tolerance() {
  return std::is_same_v<T, float> ? kFloatTolerance : kBf16Tolerance;
}

template <typename T>
std::string TypeName() {
  return std::is_same_v<T, float> ? "fp32" : "bf16";
}

struct Shape {
  int64_t rows, in_channels, out_channels;
};

// One EpilogueFusion setting under test, with its name.
struct FusionCase {
  const char* name;
  cuda::EpilogueFusion fusion;
};

std::string Describe(const char* what, const Shape& shape, const FusionCase& fusion) {
  return std::string(what) + " " + std::to_string(shape.rows) + "x" + std::to_string(shape.in_channels) + "->" +
         std::to_string(shape.out_channels) + " " + fusion.name;
}

// The default stream's context, with fusion set for one test and restored (and the mode reset) afterwards.
class ContextOptions {
 public:
  explicit ContextOptions(const FusionCase& fusion, cuda::FloatMatmulMode mode = cuda::FloatMatmulMode::kExact) {
    absl::StatusOr<cuda::MatmulContext*> context = cuda::MatmulContext::ForStream(nullptr);
    EXPECT_TRUE(context.ok()) << context.status();
    if (!context.ok()) return;
    context_ = *context;
    saved_ = context_->fusion();
    context_->set_fusion(fusion.fusion);
    context_->set_float_mode(mode);
  }
  ~ContextOptions() {
    if (context_ == nullptr) return;
    const cuda::MatmulPathCounts& counts = context_->path_counts();
    std::printf("  epilogue paths so far: %lld fused, %lld unfused\n", static_cast<long long>(counts.fused),
                static_cast<long long>(counts.unfused));
    context_->set_fusion(saved_);
    context_->set_float_mode(cuda::FloatMatmulMode::kExact);
  }
  cuda::MatmulContext* context() const { return context_; }

 private:
  cuda::MatmulContext* context_ = nullptr;
  cuda::EpilogueFusion saved_;
};

// Random inputs of one layer, rounded to T.
template <typename T>
struct LayerInputs {
  LayerInputs(const Shape& shape, uint64_t seed)
      : in(RoundedTo<T>(RandomValues(shape.rows * shape.in_channels, seed))),
        weight(RoundedTo<T>(RandomValues(shape.out_channels * shape.in_channels, seed + 1))),
        bias(RoundedTo<T>(RandomValues(shape.out_channels, seed + 2))) {}
  std::vector<double> in, weight, bias;
};

template <typename T>
void CheckForward(const Shape& shape, bool with_bias, const FusionCase& fuse, uint64_t seed, double tolerance,
                  cuda::FloatMatmulMode mode = cuda::FloatMatmulMode::kExact) {
  ContextOptions options(fuse, mode);
  ASSERT_NE(options.context(), nullptr);
  const LayerInputs<T> inputs(shape, seed);
  std::vector<double> ref(shape.rows * shape.out_channels);
  cpu::MatmulForward<double>(ref.data(), inputs.in.data(), inputs.weight.data(),
                             with_bias ? inputs.bias.data() : nullptr, shape.rows, shape.in_channels,
                             shape.out_channels);
  DeviceArray<T> in(inputs.in.size()), weight(inputs.weight.size()), bias(inputs.bias.size()), out(ref.size());
  KACHI_ASSERT_CUDA(in.Upload(inputs.in));
  KACHI_ASSERT_CUDA(weight.Upload(inputs.weight));
  KACHI_ASSERT_CUDA(bias.Upload(inputs.bias));
  KACHI_ASSERT_CUDA(out.Poison());
  const absl::Status status =
      cuda::MatmulForward<T>(out.get(), in.get(), weight.get(), with_bias ? bias.get() : nullptr, shape.rows,
                             shape.in_channels, shape.out_channels, nullptr);
  ASSERT_TRUE(status.ok()) << status;
  ExpectClose(out.Download(), ref, tolerance,
              TypeName<T>() + Describe(with_bias ? " forward+bias" : " forward", shape, fuse));
}

template <typename T>
void CheckGeluForward(const Shape& shape, bool with_bias, const FusionCase& fuse, uint64_t seed) {
  ContextOptions options(fuse);
  ASSERT_NE(options.context(), nullptr);
  const LayerInputs<T> inputs(shape, seed);
  std::vector<double> pre_ref(shape.rows * shape.out_channels), out_ref(pre_ref.size());
  cpu::MatmulGeluForward<double>(out_ref.data(), pre_ref.data(), inputs.in.data(), inputs.weight.data(),
                                 with_bias ? inputs.bias.data() : nullptr, shape.rows, shape.in_channels,
                                 shape.out_channels);
  DeviceArray<T> in(inputs.in.size()), weight(inputs.weight.size()), bias(inputs.bias.size()), out(out_ref.size()),
      pre(pre_ref.size());
  KACHI_ASSERT_CUDA(in.Upload(inputs.in));
  KACHI_ASSERT_CUDA(weight.Upload(inputs.weight));
  KACHI_ASSERT_CUDA(bias.Upload(inputs.bias));
  KACHI_ASSERT_CUDA(out.Poison());
  KACHI_ASSERT_CUDA(pre.Poison());
  const absl::Status status =
      cuda::MatmulGeluForward<T>(out.get(), pre.get(), in.get(), weight.get(), with_bias ? bias.get() : nullptr,
                                 shape.rows, shape.in_channels, shape.out_channels, nullptr);
  ASSERT_TRUE(status.ok()) << status;
  const std::string name = TypeName<T>() + Describe(with_bias ? " gelu+bias" : " gelu", shape, fuse);
  ExpectClose(pre.Download(), pre_ref, Tolerance<T>(), name + " pre");
  ExpectClose(out.Download(), out_ref, Tolerance<T>(), name + " out");
}

// Gradient buffers start random (not zero) so that accumulation (+=) is checked.
template <typename T>
void CheckBackward(const Shape& shape, bool with_din, bool with_dbias, const FusionCase& fuse, uint64_t seed) {
  ContextOptions options(fuse);
  ASSERT_NE(options.context(), nullptr);
  const LayerInputs<T> inputs(shape, seed);
  const std::vector<double> dout_values = RoundedTo<T>(RandomValues(shape.rows * shape.out_channels, seed + 3));
  std::vector<double> din_ref = RoundedTo<T>(RandomValues(shape.rows * shape.in_channels, seed + 4));
  std::vector<double> dweight_ref = RoundedTo<T>(RandomValues(inputs.weight.size(), seed + 5));
  std::vector<double> dbias_ref = RoundedTo<T>(RandomValues(shape.out_channels, seed + 6));
  DeviceArray<T> in(inputs.in.size()), weight(inputs.weight.size()), dout(dout_values.size()), din(din_ref.size()),
      dweight(dweight_ref.size()), dbias(dbias_ref.size());
  KACHI_ASSERT_CUDA(in.Upload(inputs.in));
  KACHI_ASSERT_CUDA(weight.Upload(inputs.weight));
  KACHI_ASSERT_CUDA(dout.Upload(dout_values));
  KACHI_ASSERT_CUDA(din.Upload(din_ref));
  KACHI_ASSERT_CUDA(dweight.Upload(dweight_ref));
  KACHI_ASSERT_CUDA(dbias.Upload(dbias_ref));
  cpu::MatmulBackward<double>(with_din ? din_ref.data() : nullptr, dweight_ref.data(),
                              with_dbias ? dbias_ref.data() : nullptr, dout_values.data(), inputs.in.data(),
                              inputs.weight.data(), shape.rows, shape.in_channels, shape.out_channels);
  const absl::Status status = cuda::MatmulBackward<T>(
      with_din ? din.get() : nullptr, dweight.get(), with_dbias ? dbias.get() : nullptr, dout.get(), in.get(),
      weight.get(), shape.rows, shape.in_channels, shape.out_channels, nullptr);
  ASSERT_TRUE(status.ok()) << status;
  const std::string name = TypeName<T>() + Describe(" backward", shape, fuse);
  ExpectClose(din.Download(), din_ref, Tolerance<T>(), name + (with_din ? " din" : " din (untouched)"));
  ExpectClose(dweight.Download(), dweight_ref, Tolerance<T>(), name + " dweight");
  ExpectClose(dbias.Download(), dbias_ref, Tolerance<T>(), name + (with_dbias ? " dbias" : " dbias (untouched)"));
}

// The layer after a GELU: in = gelu(pre_gelu). Reference: the CPU twin cpu::MatmulBackwardThroughGelu
// (kernels/matmul_gelu.h: MatmulBackward into a zeroed buffer, GeluBackward into a zeroed dpre, dpre_bias += the
// column sums of dpre).
template <typename T>
void CheckBackwardThroughGelu(const Shape& shape, bool with_dpre_bias, const FusionCase& fuse, uint64_t seed) {
  ContextOptions options(fuse);
  ASSERT_NE(options.context(), nullptr);
  const std::vector<double> pre_values = RoundedTo<T>(RandomValues(shape.rows * shape.in_channels, seed, -2, 2));
  std::vector<double> gelu_values(pre_values.size());
  cpu::GeluForward<double>(gelu_values.data(), pre_values.data(), static_cast<int64_t>(pre_values.size()));
  gelu_values = RoundedTo<T>(gelu_values);
  const std::vector<double> weight_values =
      RoundedTo<T>(RandomValues(shape.out_channels * shape.in_channels, seed + 1));
  const std::vector<double> dout_values = RoundedTo<T>(RandomValues(shape.rows * shape.out_channels, seed + 2));
  std::vector<double> dweight_ref = RoundedTo<T>(RandomValues(weight_values.size(), seed + 3));
  std::vector<double> dbias_ref = RoundedTo<T>(RandomValues(shape.out_channels, seed + 4));
  std::vector<double> dpre_bias_ref = RoundedTo<T>(RandomValues(shape.in_channels, seed + 5));
  DeviceArray<T> pre(pre_values.size()), in(gelu_values.size()), weight(weight_values.size()),
      dout(dout_values.size()), dpre(pre_values.size()), dweight(dweight_ref.size()), dbias(dbias_ref.size()),
      dpre_bias(dpre_bias_ref.size());
  KACHI_ASSERT_CUDA(pre.Upload(pre_values));
  KACHI_ASSERT_CUDA(in.Upload(gelu_values));
  KACHI_ASSERT_CUDA(weight.Upload(weight_values));
  KACHI_ASSERT_CUDA(dout.Upload(dout_values));
  KACHI_ASSERT_CUDA(dpre.Poison());
  KACHI_ASSERT_CUDA(dweight.Upload(dweight_ref));
  KACHI_ASSERT_CUDA(dbias.Upload(dbias_ref));
  KACHI_ASSERT_CUDA(dpre_bias.Upload(dpre_bias_ref));

  std::vector<double> dpre_ref(pre_values.size());
  cpu::MatmulBackwardThroughGelu<double>(dpre_ref.data(), with_dpre_bias ? dpre_bias_ref.data() : nullptr,
                                         dweight_ref.data(), dbias_ref.data(), dout_values.data(),
                                         gelu_values.data(), weight_values.data(), pre_values.data(), shape.rows,
                                         shape.in_channels, shape.out_channels);
  const absl::Status status = cuda::MatmulBackwardThroughGelu<T>(
      dpre.get(), with_dpre_bias ? dpre_bias.get() : nullptr, dweight.get(), dbias.get(), dout.get(), in.get(),
      weight.get(), pre.get(), shape.rows, shape.in_channels, shape.out_channels, nullptr);
  ASSERT_TRUE(status.ok()) << status;
  const std::string name = TypeName<T>() + Describe(" backward-through-gelu", shape, fuse);
  ExpectClose(dpre.Download(), dpre_ref, Tolerance<T>(), name + " dpre");
  ExpectClose(dpre_bias.Download(), dpre_bias_ref, Tolerance<T>(),
              name + (with_dpre_bias ? " dpre_bias" : " dpre_bias (untouched)"));
  ExpectClose(dweight.Download(), dweight_ref, Tolerance<T>(), name + " dweight");
  ExpectClose(dbias.Download(), dbias_ref, Tolerance<T>(), name + " dbias");
}

// Shapes: tile-aligned, GPT-2-like small, and odd sizes that no vector width or tile divides.
const Shape kAligned{64, 96, 128};
const Shape kGpt2Like{96, 768, 256};
const Shape kOdd{37, 50, 19};
// More rows than one chunk of the bias-gradient column sums (256), ending in a partial chunk.
const Shape kManyRows{600, 64, 40};
// Odd rows and output channels, but in/out channel counts that the GELU aux rule (multiple of 8) allows.
const Shape kGeluForwardOdd{45, 37, 72};
const Shape kGeluBackwardOdd{33, 24, 19};

class CudaMatmulTest : public ::testing::TestWithParam<FusionCase> {
 protected:
  void SetUp() override { KACHI_SKIP_WITHOUT_GPU(); }
  const FusionCase& fuse() const { return GetParam(); }
};

TEST_P(CudaMatmulTest, ForwardMatchesCpuFp32) {
  uint64_t seed = 100;
  for (const Shape& shape : {kAligned, kGpt2Like, kOdd}) {
    CheckForward<float>(shape, /*with_bias=*/true, fuse(), seed++, kFloatTolerance);
    CheckForward<float>(shape, /*with_bias=*/false, fuse(), seed++, kFloatTolerance);
  }
}

TEST_P(CudaMatmulTest, ForwardMatchesCpuBf16) {
  uint64_t seed = 200;
  for (const Shape& shape : {kAligned, kGpt2Like, kOdd}) {
    CheckForward<__nv_bfloat16>(shape, /*with_bias=*/true, fuse(), seed++, kBf16Tolerance);
    CheckForward<__nv_bfloat16>(shape, /*with_bias=*/false, fuse(), seed++, kBf16Tolerance);
  }
}

TEST_P(CudaMatmulTest, Tf32ModeStaysWithinTf32Tolerance) {
  CheckForward<float>(kGpt2Like, /*with_bias=*/true, fuse(), 300, kTf32Tolerance, cuda::FloatMatmulMode::kTf32);
}

TEST_P(CudaMatmulTest, GeluForwardMatchesCpu) {
  uint64_t seed = 400;
  for (const Shape& shape : {kAligned, kGpt2Like, kGeluForwardOdd}) {
    CheckGeluForward<float>(shape, /*with_bias=*/true, fuse(), seed++);
    CheckGeluForward<__nv_bfloat16>(shape, /*with_bias=*/true, fuse(), seed++);
  }
  CheckGeluForward<float>(kAligned, /*with_bias=*/false, fuse(), seed++);
  CheckGeluForward<__nv_bfloat16>(kAligned, /*with_bias=*/false, fuse(), seed++);
}

TEST_P(CudaMatmulTest, BackwardMatchesCpu) {
  uint64_t seed = 500;
  for (const Shape& shape : {kAligned, kGpt2Like, kOdd, kManyRows}) {
    CheckBackward<float>(shape, /*with_din=*/true, /*with_dbias=*/true, fuse(), seed += 10);
    CheckBackward<__nv_bfloat16>(shape, /*with_din=*/true, /*with_dbias=*/true, fuse(), seed += 10);
  }
  CheckBackward<float>(kAligned, /*with_din=*/false, /*with_dbias=*/false, fuse(), seed += 10);
  CheckBackward<__nv_bfloat16>(kOdd, /*with_din=*/false, /*with_dbias=*/false, fuse(), seed += 10);
}

TEST_P(CudaMatmulTest, BackwardThroughGeluMatchesCpu) {
  uint64_t seed = 600;
  for (const Shape& shape : {kAligned, kGpt2Like, kGeluBackwardOdd, kManyRows}) {
    CheckBackwardThroughGelu<float>(shape, /*with_dpre_bias=*/true, fuse(), seed += 10);
    CheckBackwardThroughGelu<__nv_bfloat16>(shape, /*with_dpre_bias=*/true, fuse(), seed += 10);
  }
  CheckBackwardThroughGelu<float>(kAligned, /*with_dpre_bias=*/false, fuse(), seed += 10);
  CheckBackwardThroughGelu<__nv_bfloat16>(kAligned, /*with_dpre_bias=*/false, fuse(), seed += 10);
}

INSTANTIATE_TEST_SUITE_P(
    EpilogueFusions, CudaMatmulTest,
    ::testing::Values(FusionCase{"Fused", cuda::EpilogueFusion{true, true, true, true}},
                      FusionCase{"Unfused", cuda::EpilogueFusion{false, false, false, false}},
                      FusionCase{"FusedDgeluKachiBiasSums", cuda::EpilogueFusion{true, false, true, false}}),
    [](const ::testing::TestParamInfo<FusionCase>& info) { return std::string(info.param.name); });

class CudaMatmulContextTest : public ::testing::Test {
 protected:
  void SetUp() override { KACHI_SKIP_WITHOUT_GPU(); }
};

// A second call with the same problem reuses the cached plan; a new shape adds one.
TEST_F(CudaMatmulContextTest, PlansAreCachedPerProblem) {
  cudaStream_t stream = nullptr;
  KACHI_ASSERT_CUDA(cudaStreamCreate(&stream));
  absl::StatusOr<cuda::MatmulContext*> context = cuda::MatmulContext::ForStream(stream);
  ASSERT_TRUE(context.ok()) << context.status();
  const Shape shape = kAligned;
  const LayerInputs<float> inputs(shape, 700);
  DeviceArray<float> in(inputs.in.size()), weight(inputs.weight.size()), out(shape.rows * shape.out_channels);
  KACHI_ASSERT_CUDA(in.Upload(inputs.in));
  KACHI_ASSERT_CUDA(weight.Upload(inputs.weight));
  const size_t before = (*context)->cached_plans();
  for (int call = 0; call < 3; ++call) {
    ASSERT_TRUE(cuda::MatmulForward<float>(out.get(), in.get(), weight.get(), nullptr, shape.rows, shape.in_channels,
                                           shape.out_channels, stream)
                    .ok());
  }
  EXPECT_EQ((*context)->cached_plans(), before + 1);
  ASSERT_TRUE(cuda::MatmulForward<float>(out.get(), in.get(), weight.get(), nullptr, shape.rows - 1,
                                         shape.in_channels, shape.out_channels, stream)
                  .ok());
  EXPECT_EQ((*context)->cached_plans(), before + 2);
  KACHI_ASSERT_CUDA(cudaStreamSynchronize(stream));
  KACHI_ASSERT_CUDA(cudaStreamDestroy(stream));
}

// Forget frees a stream's registry context (workspace and grown scratch back to the device), and the next ForStream
// on another stream starts a fresh one: a process that creates and destroys streams does not pile up contexts.
TEST_F(CudaMatmulContextTest, ForgetFreesTheStreamsContext) {
  int device = 0;
  KACHI_ASSERT_CUDA(cudaGetDevice(&device));
  cudaStream_t stream = nullptr;
  KACHI_ASSERT_CUDA(cudaStreamCreate(&stream));
  KACHI_ASSERT_CUDA(cudaDeviceSynchronize());
  size_t free_before = 0, free_after = 0, total = 0;
  KACHI_ASSERT_CUDA(cudaMemGetInfo(&free_before, &total));
  const size_t contexts = cuda::MatmulContext::RegisteredContexts();
  absl::StatusOr<cuda::MatmulContext*> context = cuda::MatmulContext::ForStream(stream);
  ASSERT_TRUE(context.ok()) << context.status();
  EXPECT_EQ(cuda::MatmulContext::RegisteredContexts(), contexts + 1);
  constexpr size_t kScratchBytes = 64 << 20;
  ASSERT_TRUE((*context)->Scratch(kScratchBytes).ok());
  ASSERT_TRUE((*context)->Scratch(2 * kScratchBytes).ok());  // grows in stream order
  KACHI_ASSERT_CUDA(cudaStreamSynchronize(stream));
  size_t free_held = 0;
  KACHI_ASSERT_CUDA(cudaMemGetInfo(&free_held, &total));
  EXPECT_LE(free_held + 2 * kScratchBytes, free_before) << "the context should hold its workspace and scratch";
  cuda::MatmulContext::Forget(device, stream);
  EXPECT_EQ(cuda::MatmulContext::RegisteredContexts(), contexts);
  KACHI_ASSERT_CUDA(cudaDeviceSynchronize());
  // Stream-ordered frees return to the device's pool; trim it so cudaMemGetInfo sees the memory again.
  cudaMemPool_t pool = nullptr;
  KACHI_ASSERT_CUDA(cudaDeviceGetDefaultMemPool(&pool, device));
  KACHI_ASSERT_CUDA(cudaMemPoolTrimTo(pool, 0));
  KACHI_ASSERT_CUDA(cudaMemGetInfo(&free_after, &total));
  EXPECT_GE(free_after + (8 << 20), free_before) << "Forget should give the workspace and scratch back";
  cuda::MatmulContext::Forget(device, stream);  // forgetting twice is harmless
  KACHI_ASSERT_CUDA(cudaStreamDestroy(stream));
}

// Sizes the GELU aux rule rejects fail with InvalidArgument before any device work (no GPU needed).
TEST(CudaMatmulErrorTest, GeluAuxLeadingDimensionMustBeMultipleOfEight) {
  float* unused = nullptr;
  const absl::Status forward =
      cuda::MatmulGeluForward<float>(unused, unused, unused, unused, unused, 16, 32, /*out_channels=*/20, nullptr);
  EXPECT_EQ(forward.code(), absl::StatusCode::kInvalidArgument) << forward;
  EXPECT_NE(forward.message().find("out_channels = 20"), std::string::npos) << forward;
  EXPECT_NE(forward.message().find("multiple of 8"), std::string::npos) << forward;
  __nv_bfloat16* unused_bf16 = nullptr;
  const absl::Status backward = cuda::MatmulBackwardThroughGelu<__nv_bfloat16>(
      unused_bf16, unused_bf16, unused_bf16, unused_bf16, unused_bf16, unused_bf16, unused_bf16, unused_bf16, 16,
      /*in_channels=*/44, 32, nullptr);
  EXPECT_EQ(backward.code(), absl::StatusCode::kInvalidArgument) << backward;
  EXPECT_NE(backward.message().find("in_channels = 44"), std::string::npos) << backward;
}

TEST(CudaMatmulErrorTest, NonPositiveChannelsAreRejected) {
  float* unused = nullptr;
  const absl::Status status = cuda::MatmulForward<float>(unused, unused, unused, unused, 4, 0, 8, nullptr);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_NE(status.message().find("in_channels=0"), std::string::npos) << status;
}

}  // namespace
}  // namespace kachi::testing
