// kachi::cuda::GeluForward/Backward against the CPU twin in float64, fp32 and bf16: a size that is not a multiple
// of the vector width (tail), and a pointer off the 16-byte grid (scalar path). Tolerances: kTolerance<T>.
#include "kernels/gelu_cuda.h"

#include <vector>

#include "kernels/gelu.h"
#include "tests/cuda_memory/cuda_memory_test_util.h"

namespace kachi::testing {
namespace {

KACHI_CUDA_MEMORY_TYPED_SUITE(CudaGeluTest);

// Forward and backward on n elements whose device pointers start `offset` elements past an aligned base.
template <typename T>
void CheckGelu(int64_t n, size_t offset, uint64_t seed) {
  const std::vector<double> in = RoundedThrough<T>(RandomValues(n, seed, -4.0, 4.0));
  const std::vector<double> dout = RoundedThrough<T>(RandomValues(n, seed + 1));
  const std::vector<double> din_before = RoundedThrough<T>(RandomValues(n, seed + 2));
  DeviceArray<T> in_gpu(n, offset), out_gpu(n, offset), dout_gpu(n, offset), din_gpu(n, offset);
  in_gpu.Upload(in);
  dout_gpu.Upload(dout);
  din_gpu.Upload(din_before);
  out_gpu.Poison();

  ASSERT_TRUE(cuda::GeluForward(out_gpu.data(), in_gpu.data(), n, nullptr).ok());
  ASSERT_TRUE(cuda::GeluBackward(din_gpu.data(), in_gpu.data(), dout_gpu.data(), n, nullptr).ok());

  std::vector<double> out(n), din = din_before;
  cpu::GeluForward(out.data(), in.data(), n);
  cpu::GeluBackward(din.data(), in.data(), dout.data(), n);
  ExpectClose(out_gpu.Download(), out, kTolerance<T>, "gelu out");
  ExpectClose(din_gpu.Download(), din, kTolerance<T>, "gelu din");
}

TYPED_TEST(CudaGeluTest, MatchesCpuTwinWithTail) {
  KACHI_SKIP_WITHOUT_GPU();
  CheckGelu<TypeParam>(8 * 1000 + 5, 0, 101);
}

TYPED_TEST(CudaGeluTest, MatchesCpuTwinOnUnalignedPointers) {
  KACHI_SKIP_WITHOUT_GPU();
  CheckGelu<TypeParam>(3001, 1, 201);
}

TEST(CudaGeluErrorTest, RejectsNegativeSize) {
  KACHI_SKIP_WITHOUT_GPU();
  EXPECT_EQ(cuda::GeluForward<float>(nullptr, nullptr, -1, nullptr).code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace kachi::testing
