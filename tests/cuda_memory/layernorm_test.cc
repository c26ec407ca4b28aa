// kachi::cuda::LayerNormForward/Backward against the CPU twin in float64 (fp32 and bf16): GPT-2's C = 768 and
// C = 1040 (register and shared-memory paths), channels off the vector width, many rows (warps taking several rows
// each in the backward), accumulation into pre-filled din/dweight/dbias, bit-for-bit repeatability of the backward,
// and the channel limit.
#include "kernels/layernorm_cuda.h"

#include <vector>

#include "kernels/layernorm.h"
#include "kernels/residual_layernorm_cuda.h"
#include "tests/cuda_memory/cuda_memory_test_util.h"

namespace kachi::testing {
namespace {

KACHI_CUDA_MEMORY_TYPED_SUITE(CudaLayerNormTest);

template <typename T>
void CheckLayerNorm(int64_t rows, int64_t channels, uint64_t seed) {
  const int64_t n = rows * channels;
  const std::vector<double> in = RoundedThrough<T>(RandomValues(n, seed, -2.0, 3.0));
  const auto [weight, bias, dout, din_before, dweight_before, dbias_before] =
      RandomLayerNormGradientValues<T>(n, channels, seed + 1);
  DeviceArray<T> in_gpu(n), weight_gpu(channels), bias_gpu(channels), out_gpu(n), dout_gpu(n), din_gpu(n),
      dweight_gpu(channels), dbias_gpu(channels);
  DeviceArray<float> mean_gpu(rows), rstd_gpu(rows);
  in_gpu.Upload(in);
  weight_gpu.Upload(weight);
  bias_gpu.Upload(bias);
  dout_gpu.Upload(dout);
  din_gpu.Upload(din_before);
  dweight_gpu.Upload(dweight_before);
  dbias_gpu.Upload(dbias_before);
  out_gpu.Poison();
  mean_gpu.Poison();
  rstd_gpu.Poison();

  ASSERT_TRUE(cuda::LayerNormForward(out_gpu.data(), mean_gpu.data(), rstd_gpu.data(), in_gpu.data(),
                                     weight_gpu.data(), bias_gpu.data(), rows, channels, nullptr)
                  .ok());
  ASSERT_TRUE(cuda::LayerNormBackward(din_gpu.data(), dweight_gpu.data(), dbias_gpu.data(), dout_gpu.data(),
                                      in_gpu.data(), weight_gpu.data(), mean_gpu.data(), rstd_gpu.data(), rows,
                                      channels, nullptr)
                  .ok());

  std::vector<double> out(n), mean(rows), rstd(rows), din = din_before, dweight = dweight_before,
                                                      dbias = dbias_before;
  cpu::LayerNormForward(out.data(), mean.data(), rstd.data(), in.data(), weight.data(), bias.data(), rows, channels);
  cpu::LayerNormBackward(din.data(), dweight.data(), dbias.data(), dout.data(), in.data(), weight.data(), mean.data(),
                         rstd.data(), rows, channels);
  ExpectClose(out_gpu.Download(), out, kTolerance<T>, "layernorm out");
  ExpectClose(mean_gpu.Download(), mean, kTolerance<float>, "mean (fp32 statistics)");
  ExpectClose(rstd_gpu.Download(), rstd, kTolerance<float>, "rstd (fp32 statistics)");
  ExpectClose(din_gpu.Download(), din, kTolerance<T>, "din");
  ExpectClose(dweight_gpu.Download(), dweight, kTolerance<T>, "dweight");
  ExpectClose(dbias_gpu.Download(), dbias, kTolerance<T>, "dbias");

  // Same inputs again: identical bits (no order-varying atomics).
  const std::vector<unsigned char> din_first = din_gpu.Bytes(), dweight_first = dweight_gpu.Bytes();
  din_gpu.Upload(din_before);
  dweight_gpu.Upload(dweight_before);
  dbias_gpu.Upload(dbias_before);
  ASSERT_TRUE(cuda::LayerNormBackward(din_gpu.data(), dweight_gpu.data(), dbias_gpu.data(), dout_gpu.data(),
                                      in_gpu.data(), weight_gpu.data(), mean_gpu.data(), rstd_gpu.data(), rows,
                                      channels, nullptr)
                  .ok());
  EXPECT_EQ(din_gpu.Bytes(), din_first) << "din differs between identical runs";
  EXPECT_EQ(dweight_gpu.Bytes(), dweight_first) << "dweight differs between identical runs";
}

TYPED_TEST(CudaLayerNormTest, MatchesCpuTwinAtGpt2Channels) {
  KACHI_SKIP_WITHOUT_GPU();
  CheckLayerNorm<TypeParam>(37, 768, 701);
}

TYPED_TEST(CudaLayerNormTest, MatchesCpuTwinAboveTheRegisterPath) {
  KACHI_SKIP_WITHOUT_GPU();
  CheckLayerNorm<TypeParam>(23, 1040, 751);  // C > 768: vector accesses, row kept in shared memory
}

TYPED_TEST(CudaLayerNormTest, MatchesCpuTwinWithChannelsOffTheVectorWidth) {
  KACHI_SKIP_WITHOUT_GPU();
  CheckLayerNorm<TypeParam>(29, 45, 801);
}

TYPED_TEST(CudaLayerNormTest, MatchesCpuTwinWithManyRowsPerWarp) {
  KACHI_SKIP_WITHOUT_GPU();
  CheckLayerNorm<TypeParam>(9000, 64, 901);  // > 512 blocks x 8 warps: each warp takes 2-3 rows
}

TEST(CudaLayerNormErrorTest, RejectsTooManyChannels) {
  KACHI_SKIP_WITHOUT_GPU();
  const absl::Status status = cuda::LayerNormForward<float>(nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, 4,
                                                            cuda::kLayerNormMaxChannels + 1, nullptr);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
}

}  // namespace
}  // namespace kachi::testing
