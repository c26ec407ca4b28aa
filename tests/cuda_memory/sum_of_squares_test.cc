// kachi::cuda::SumOfSquares / GlobalSquaredNorm against cpu::SumOfSquares in float64 (fp32 and bf16 inputs):
// sizes across chunk boundaries and off the vector width, a tensor off the 16-byte grid, more chunks than pass-1
// blocks, a NaN-poisoned result, and bit-for-bit repeatability. Tolerance 1e-12: every square is exact in double,
// only the summation order differs.
#include "kernels/sum_of_squares_cuda.h"

#include <memory>
#include <vector>

#include "kernels/sum_of_squares.h"
#include "tests/cuda_memory/cuda_memory_test_util.h"

namespace kachi::testing {
namespace {

constexpr double kDoubleSumTolerance = 1e-12;

KACHI_CUDA_MEMORY_TYPED_SUITE(CudaSumOfSquaresTest);

TYPED_TEST(CudaSumOfSquaresTest, SingleTensorMatchesCpuTwin) {
  KACHI_SKIP_WITHOUT_GPU();
  using T = TypeParam;
  for (int64_t n : {int64_t{1}, int64_t{13}, int64_t{8192 * 3 + 7}, int64_t{8192 * 1030 + 3}}) {
    const std::vector<double> x = RoundedThrough<T>(RandomValues(n, 1600 + n));
    DeviceArray<T> x_gpu(n);
    DeviceArray<double> result(1);
    x_gpu.Upload(x);
    result.Poison();
    ASSERT_TRUE(cuda::SumOfSquares(result.data(), x_gpu.data(), n, nullptr).ok());
    ExpectClose(result.Download(), {cpu::SumOfSquares(x.data(), n)}, kDoubleSumTolerance, "sum of squares");
  }
}

TYPED_TEST(CudaSumOfSquaresTest, GlobalNormMatchesCpuTwinAndRepeats) {
  KACHI_SKIP_WITHOUT_GPU();
  using T = TypeParam;
  const std::vector<std::pair<int64_t, size_t>> shapes = {{5, 0}, {8192, 0}, {10001, 1}, {1, 0}, {70000, 0}};
  std::vector<std::unique_ptr<DeviceArray<T>>> arrays;
  std::vector<cuda::SquaredNormTensor<T>> tensors;
  double expected = 0;
  for (size_t i = 0; i < shapes.size(); ++i) {
    const std::vector<double> x = RoundedThrough<T>(RandomValues(shapes[i].first, 1700 + i));
    arrays.push_back(std::make_unique<DeviceArray<T>>(shapes[i].first, shapes[i].second));
    arrays.back()->Upload(x);
    tensors.push_back({arrays.back()->data(), shapes[i].first});
    expected += cpu::SumOfSquares(x.data(), shapes[i].first);
  }
  absl::StatusOr<cuda::SquaredNormTensorList<T>> list = cuda::SquaredNormTensorList<T>::Create(tensors);
  ASSERT_TRUE(list.ok()) << list.status();
  DeviceArray<double> result(1);
  result.Poison();
  ASSERT_TRUE(cuda::GlobalSquaredNorm(result.data(), *list, nullptr).ok());
  ExpectClose(result.Download(), {expected}, kDoubleSumTolerance, "global squared norm");
  const std::vector<unsigned char> first = result.Bytes();
  result.Poison();
  ASSERT_TRUE(cuda::GlobalSquaredNorm(result.data(), *list, nullptr).ok());
  EXPECT_EQ(result.Bytes(), first) << "global squared norm differs between identical runs";
}

TEST(CudaSumOfSquaresErrorTest, RejectsNullData) {
  KACHI_SKIP_WITHOUT_GPU();
  EXPECT_EQ(cuda::SquaredNormTensorList<float>::Create({{nullptr, 4}}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace kachi::testing
