// kachi::cuda::ResidualLayerNormForward/Backward against the CPU twins ResidualForward + LayerNormForward (and
// LayerNormBackward) in float64, fp32 and bf16: the stored residual, the normalized output and statistics, the
// residual gradient written to a separate buffer (incoming gradient left untouched) and in place, and the
// parameter gradients accumulated into pre-filled buffers. Misaligned pointers exercise the scalar path.
#include "kernels/residual_layernorm_cuda.h"

#include <vector>

#include "kernels/layernorm.h"
#include "kernels/residual.h"
#include "tests/cuda_memory/cuda_memory_test_util.h"

namespace kachi::testing {
namespace {

KACHI_CUDA_MEMORY_TYPED_SUITE(CudaResidualLayerNormTest);

template <typename T>
void CheckResidualLayerNorm(int64_t rows, int64_t channels, size_t offset, bool in_place, uint64_t seed) {
  const int64_t n = rows * channels;
  const std::vector<double> a = RoundedThrough<T>(RandomValues(n, seed, -2.0, 2.0));
  const std::vector<double> b = RoundedThrough<T>(RandomValues(n, seed + 1, -1.0, 2.0));
  const auto [weight, bias, dout, dresidual_in, dweight_before, dbias_before] =
      RandomLayerNormGradientValues<T>(n, channels, seed + 2);
  DeviceArray<T> a_gpu(n, offset), b_gpu(n, offset), residual_gpu(n, offset), out_gpu(n, offset),
      weight_gpu(channels, offset), bias_gpu(channels, offset), dout_gpu(n, offset), dresidual_in_gpu(n, offset),
      dresidual_out_gpu(n, offset), dweight_gpu(channels, offset), dbias_gpu(channels, offset);
  DeviceArray<float> mean_gpu(rows), rstd_gpu(rows);
  a_gpu.Upload(a);
  b_gpu.Upload(b);
  weight_gpu.Upload(weight);
  bias_gpu.Upload(bias);
  dout_gpu.Upload(dout);
  dresidual_in_gpu.Upload(dresidual_in);
  dweight_gpu.Upload(dweight_before);
  dbias_gpu.Upload(dbias_before);
  for (auto* poisoned : {&residual_gpu, &out_gpu, &dresidual_out_gpu}) poisoned->Poison();
  mean_gpu.Poison();
  rstd_gpu.Poison();

  ASSERT_TRUE(cuda::ResidualLayerNormForward(residual_gpu.data(), out_gpu.data(), mean_gpu.data(), rstd_gpu.data(),
                                             a_gpu.data(), b_gpu.data(), weight_gpu.data(), bias_gpu.data(), rows,
                                             channels, nullptr)
                  .ok());
  T* dresidual_out = in_place ? dresidual_in_gpu.data() : dresidual_out_gpu.data();
  ASSERT_TRUE(cuda::ResidualLayerNormBackward(dresidual_out, dresidual_in_gpu.data(), dweight_gpu.data(),
                                              dbias_gpu.data(), dout_gpu.data(), residual_gpu.data(),
                                              weight_gpu.data(), mean_gpu.data(), rstd_gpu.data(), rows, channels,
                                              nullptr)
                  .ok());

  // Reference: the residual sum as the GPU stores it (rounded to T), normalized by the CPU twin in double.
  std::vector<double> residual(n), out(n), mean(rows), rstd(rows);
  cpu::ResidualForward(residual.data(), a.data(), b.data(), n);
  const std::vector<double> stored_residual = RoundedThrough<T>(residual);
  cpu::LayerNormForward(out.data(), mean.data(), rstd.data(), stored_residual.data(), weight.data(), bias.data(), rows,
                        channels);
  std::vector<double> dresidual = dresidual_in, dweight = dweight_before, dbias = dbias_before;
  cpu::LayerNormBackward(dresidual.data(), dweight.data(), dbias.data(), dout.data(), stored_residual.data(),
                         weight.data(), mean.data(), rstd.data(), rows, channels);

  ExpectClose(residual_gpu.Download(), residual, kTolerance<T>, "residual_out");
  ExpectClose(out_gpu.Download(), out, kTolerance<T>, "layernorm out");
  ExpectClose(mean_gpu.Download(), mean, kTolerance<float>, "mean");
  ExpectClose(rstd_gpu.Download(), rstd, kTolerance<float>, "rstd");
  if (in_place) {
    ExpectClose(dresidual_in_gpu.Download(), dresidual, kTolerance<T>, "dresidual (in place)");
  } else {
    ExpectClose(dresidual_out_gpu.Download(), dresidual, kTolerance<T>, "dresidual_out");
    EXPECT_EQ(dresidual_in_gpu.Download(), dresidual_in) << "the incoming residual gradient was modified";
  }
  ExpectClose(dweight_gpu.Download(), dweight, kTolerance<T>, "dweight");
  ExpectClose(dbias_gpu.Download(), dbias, kTolerance<T>, "dbias");
}

TYPED_TEST(CudaResidualLayerNormTest, MatchesCpuTwinsAtGpt2Channels) {
  KACHI_SKIP_WITHOUT_GPU();
  CheckResidualLayerNorm<TypeParam>(64, 768, 0, false, 1001);
}

TYPED_TEST(CudaResidualLayerNormTest, MatchesCpuTwinsWithAPartialLastVectorPass) {
  KACHI_SKIP_WITHOUT_GPU();
  CheckResidualLayerNorm<TypeParam>(17, 520, 0, false, 1051);  // the last pass over the row leaves lanes idle
}

TYPED_TEST(CudaResidualLayerNormTest, MatchesCpuTwinsInPlace) {
  KACHI_SKIP_WITHOUT_GPU();
  CheckResidualLayerNorm<TypeParam>(33, 200, 0, true, 1101);
}

TYPED_TEST(CudaResidualLayerNormTest, MatchesCpuTwinsOnUnalignedPointers) {
  KACHI_SKIP_WITHOUT_GPU();
  CheckResidualLayerNorm<TypeParam>(21, 96, 1, false, 1201);
}

TEST(CudaResidualLayerNormErrorTest, RejectsTooSmallWorkspace) {
  KACHI_SKIP_WITHOUT_GPU();
  DeviceArray<float> buffer(64 * 64), workspace(4);
  const absl::Status status = cuda::ResidualLayerNormBackward<float>(
      buffer.data(), buffer.data(), buffer.data(), buffer.data(), buffer.data(), buffer.data(), buffer.data(),
      buffer.data(), buffer.data(), 64, 64, workspace.data(), 16, nullptr);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
}

}  // namespace
}  // namespace kachi::testing
