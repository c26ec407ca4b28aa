// kachi::cuda::PositionEmbeddingForward/Backward against the CPU twin in float64 (fp32 and bf16), with channels
// that fill 16-byte vectors and channels that do not, wpe longer than seq_len, and accumulation into pre-filled
// dwpe; the fp32 backward must also equal the CPU float twin bit for bit (same summation order).
#include "kernels/position_embedding_cuda.h"

#include <vector>

#include "kernels/position_embedding.h"
#include "tests/cuda_memory/cuda_memory_test_util.h"

namespace kachi::testing {
namespace {

KACHI_CUDA_MEMORY_TYPED_SUITE(CudaPositionEmbeddingTest);

template <typename T>
void CheckPositionEmbedding(int64_t batch, int64_t seq_len, int64_t channels, uint64_t seed) {
  const int64_t wpe_rows = seq_len + 3;
  const int64_t n = batch * seq_len * channels;
  const std::vector<double> out_before = RoundedThrough<T>(RandomValues(n, seed));
  const std::vector<double> wpe = RoundedThrough<T>(RandomValues(wpe_rows * channels, seed + 1));
  const std::vector<double> dout = RoundedThrough<T>(RandomValues(n, seed + 2));
  const std::vector<double> dwpe_before = RoundedThrough<T>(RandomValues(wpe_rows * channels, seed + 3));
  DeviceArray<T> out_gpu(n), wpe_gpu(wpe_rows * channels), dout_gpu(n), dwpe_gpu(wpe_rows * channels);
  out_gpu.Upload(out_before);
  wpe_gpu.Upload(wpe);
  dout_gpu.Upload(dout);
  dwpe_gpu.Upload(dwpe_before);

  ASSERT_TRUE(cuda::PositionEmbeddingForward(out_gpu.data(), wpe_gpu.data(), batch, seq_len, channels, nullptr).ok());
  ASSERT_TRUE(
      cuda::PositionEmbeddingBackward(dwpe_gpu.data(), dout_gpu.data(), batch, seq_len, channels, nullptr).ok());

  std::vector<double> out = out_before, dwpe = dwpe_before;
  cpu::PositionEmbeddingForward(out.data(), wpe.data(), batch, seq_len, channels);
  cpu::PositionEmbeddingBackward(dwpe.data(), dout.data(), batch, seq_len, channels);
  ExpectClose(out_gpu.Download(), out, kTolerance<T>, "position embedding out");
  ExpectClose(dwpe_gpu.Download(), dwpe, kTolerance<T>, "dwpe");

  if constexpr (std::is_same_v<T, float>) {
    std::vector<float> dwpe_float(dwpe_before.begin(), dwpe_before.end());
    const std::vector<float> dout_float(dout.begin(), dout.end());
    cpu::PositionEmbeddingBackward(dwpe_float.data(), dout_float.data(), batch, seq_len, channels);
    const std::vector<double> gpu = dwpe_gpu.Download();
    for (size_t i = 0; i < gpu.size(); ++i) ASSERT_EQ(gpu[i], static_cast<double>(dwpe_float[i])) << "dwpe[" << i << "]";
  }
}

TYPED_TEST(CudaPositionEmbeddingTest, MatchesCpuTwinVectorized) {
  KACHI_SKIP_WITHOUT_GPU();
  CheckPositionEmbedding<TypeParam>(3, 17, 64, 301);
}

TYPED_TEST(CudaPositionEmbeddingTest, MatchesCpuTwinWithChannelsOffTheVectorWidth) {
  KACHI_SKIP_WITHOUT_GPU();
  CheckPositionEmbedding<TypeParam>(4, 9, 21, 401);
}

}  // namespace
}  // namespace kachi::testing
