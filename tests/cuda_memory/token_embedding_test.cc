// kachi::cuda::TokenEmbeddingForward/Backward against the CPU twin in float64 (fp32 and bf16) on a vocabulary
// shard (tokens of other shards embed to zeros and add nothing), with many repeated tokens, channels on and off
// the vector width; the fp32 backward must equal the CPU float twin bit for bit and repeat bit for bit.
#include "kernels/token_embedding_cuda.h"

#include <vector>

#include "kernels/token_embedding.h"
#include "tests/cuda_memory/cuda_memory_test_util.h"

namespace kachi::testing {
namespace {

constexpr int64_t kVocabStart = 40;
constexpr int64_t kVocabRows = 90;

KACHI_CUDA_MEMORY_TYPED_SUITE(CudaTokenEmbeddingTest);

template <typename T>
void CheckTokenEmbedding(int64_t num_tokens, int64_t channels, uint64_t seed) {
  // Tokens in [0, 160): about 44% owned by the shard [40, 130), each owned row hit ~4 times.
  const std::vector<int32_t> tokens = RandomTokens(num_tokens, seed, 0, 160);
  const std::vector<double> table = RoundedThrough<T>(RandomValues(kVocabRows * channels, seed + 1));
  const std::vector<double> dout = RoundedThrough<T>(RandomValues(num_tokens * channels, seed + 2));
  const std::vector<double> dtable_before = RoundedThrough<T>(RandomValues(kVocabRows * channels, seed + 3));
  DeviceArray<int32_t> tokens_gpu(num_tokens);
  DeviceArray<T> table_gpu(table.size()), out_gpu(num_tokens * channels), dout_gpu(dout.size()),
      dtable_gpu(table.size());
  ASSERT_EQ(cudaMemcpy(tokens_gpu.data(), tokens.data(), tokens.size() * 4, cudaMemcpyHostToDevice), cudaSuccess);
  table_gpu.Upload(table);
  dout_gpu.Upload(dout);
  dtable_gpu.Upload(dtable_before);
  out_gpu.Poison();

  ASSERT_TRUE(cuda::TokenEmbeddingForward(out_gpu.data(), tokens_gpu.data(), table_gpu.data(), num_tokens, channels,
                                          kVocabStart, kVocabRows, nullptr)
                  .ok());
  ASSERT_TRUE(cuda::TokenEmbeddingBackward(dtable_gpu.data(), dout_gpu.data(), tokens_gpu.data(), num_tokens, channels,
                                           kVocabStart, kVocabRows, nullptr)
                  .ok());

  std::vector<double> out(num_tokens * channels), dtable = dtable_before;
  cpu::TokenEmbeddingForward(out.data(), tokens.data(), table.data(), num_tokens, channels, kVocabStart, kVocabRows);
  cpu::TokenEmbeddingBackward(dtable.data(), dout.data(), tokens.data(), num_tokens, channels, kVocabStart,
                              kVocabRows);
  const std::vector<double> out_gpu_values = out_gpu.Download();
  ExpectClose(out_gpu_values, out, kTolerance<T>, "token embedding out");
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i] == 0.0) {
      ASSERT_EQ(out_gpu_values[i], 0.0) << "foreign token row not zeroed at " << i;
    }
  }
  ExpectClose(dtable_gpu.Download(), dtable, kTolerance<T>, "dtable");

  if constexpr (std::is_same_v<T, float>) {
    // Same order as the CPU float twin: bit-identical; and a second run from the same start repeats it exactly.
    std::vector<float> dtable_float(dtable_before.begin(), dtable_before.end());
    const std::vector<float> dout_float(dout.begin(), dout.end());
    cpu::TokenEmbeddingBackward(dtable_float.data(), dout_float.data(), tokens.data(), num_tokens, channels,
                                kVocabStart, kVocabRows);
    const std::vector<double> gpu = dtable_gpu.Download();
    for (size_t i = 0; i < gpu.size(); ++i) ASSERT_EQ(gpu[i], static_cast<double>(dtable_float[i])) << "dtable[" << i << "]";
  }
  const std::vector<unsigned char> first_run = dtable_gpu.Bytes();
  dtable_gpu.Upload(dtable_before);
  ASSERT_TRUE(cuda::TokenEmbeddingBackward(dtable_gpu.data(), dout_gpu.data(), tokens_gpu.data(), num_tokens, channels,
                                           kVocabStart, kVocabRows, nullptr)
                  .ok());
  EXPECT_EQ(dtable_gpu.Bytes(), first_run) << "backward is not run-to-run deterministic";
}

TYPED_TEST(CudaTokenEmbeddingTest, MatchesCpuTwinVectorized) {
  KACHI_SKIP_WITHOUT_GPU();
  CheckTokenEmbedding<TypeParam>(1000, 64, 501);
}

TYPED_TEST(CudaTokenEmbeddingTest, MatchesCpuTwinWithChannelsOffTheVectorWidth) {
  KACHI_SKIP_WITHOUT_GPU();
  CheckTokenEmbedding<TypeParam>(777, 30, 601);
}

TEST(CudaTokenEmbeddingErrorTest, RejectsTooSmallWorkspace) {
  KACHI_SKIP_WITHOUT_GPU();
  DeviceArray<float> dtable(kVocabRows * 8), dout(16 * 8), workspace(4);
  DeviceArray<int32_t> tokens(16);
  const absl::Status status = cuda::TokenEmbeddingBackward(dtable.data(), dout.data(), tokens.data(), 16, 8,
                                                           kVocabStart, kVocabRows, workspace.data(), 16, nullptr);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
}

}  // namespace
}  // namespace kachi::testing
