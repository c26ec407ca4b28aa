// kachi::cuda::AdamWMultiTensorStep / AdamWStep against cpu::AdamWStep in float64 per tensor (fp32 and bf16
// gradients/params; fp32 master and moments): tensors of sizes across chunk boundaries and off the vector width,
// one off the 16-byte grid, weight decay switched per tensor, a global grad scale, two consecutive steps.
// Tolerances: master, m, v at fp32 (1e-5); the working-precision params at kTolerance<T>.
#include "kernels/adamw_cuda.h"

#include <memory>
#include <vector>

#include "kernels/adamw.h"
#include "tests/cuda_memory/cuda_memory_test_util.h"

namespace kachi::testing {
namespace {

KACHI_CUDA_MEMORY_TYPED_SUITE(CudaAdamWTest);

// One tensor's device buffers and its float64 reference state.
template <typename T>
struct TensorCase {
  TensorCase(int64_t n, size_t offset, bool decay, uint64_t seed)
      : n(n), decay(decay), master(n, offset), param(n, offset), grad(n, offset), m(n, offset), v(n, offset) {
    ref_master = RoundedThrough<float>(RandomValues(n, seed));
    ref_m = RoundedThrough<float>(RandomValues(n, seed + 1, -0.1, 0.1));
    ref_v = RoundedThrough<float>(RandomValues(n, seed + 2, 1e-4, 1e-2));
    master.Upload(ref_master);
    m.Upload(ref_m);
    v.Upload(ref_v);
    param.Poison();
  }
  // Draws this step's gradient (rounded through T) and uploads it.
  void NewGradient(uint64_t seed) {
    grad_values = RoundedThrough<T>(RandomValues(n, seed));
    grad.Upload(grad_values);
  }
  // The CPU twin's step in double with the GPU's gradient times `scale`.
  void ReferenceStep(const cpu::AdamWHyperparameters& hyper, int64_t step, float scale) {
    std::vector<double> scaled(n);
    for (int64_t i = 0; i < n; ++i) scaled[i] = grad_values[i] * scale;
    cpu::AdamWHyperparameters tensor_hyper = hyper;
    if (!decay) tensor_hyper.weight_decay = 0.0;
    cpu::AdamWStep(ref_master.data(), scaled.data(), ref_m.data(), ref_v.data(), n, tensor_hyper, step);
  }
  void ExpectMatches(bool check_param) const {
    ExpectClose(master.Download(), ref_master, kTolerance<float>, "master");
    ExpectClose(m.Download(), ref_m, kTolerance<float>, "m");
    ExpectClose(v.Download(), ref_v, kTolerance<float>, "v");
    if (check_param) ExpectClose(param.Download(), ref_master, kTolerance<T>, "param (working precision)");
  }
  cuda::AdamWTensor<T> Tensor() { return {master.data(), param.data(), grad.data(), m.data(), v.data(), n, decay}; }

  int64_t n;
  bool decay;
  DeviceArray<float> master;
  DeviceArray<T> param, grad;
  DeviceArray<float> m, v;
  std::vector<double> ref_master, ref_m, ref_v, grad_values;
};

cpu::AdamWHyperparameters TestHyperparameters() {
  cpu::AdamWHyperparameters hyper;
  hyper.learning_rate = 1e-2;
  hyper.weight_decay = 0.1;
  return hyper;
}

TYPED_TEST(CudaAdamWTest, MultiTensorStepMatchesCpuTwin) {
  KACHI_SKIP_WITHOUT_GPU();
  using T = TypeParam;
  struct Shape {
    int64_t n;
    size_t offset;
    bool decay;
  };
  const std::vector<Shape> shapes = {{1, 0, true},    {7, 0, false},    {4096, 0, true}, {5000, 0, true},
                                     {12345, 1, true}, {3, 0, false},   {8192 + 5, 0, false}};
  std::vector<std::unique_ptr<TensorCase<T>>> cases;
  std::vector<cuda::AdamWTensor<T>> tensors;
  for (size_t i = 0; i < shapes.size(); ++i) {
    cases.push_back(std::make_unique<TensorCase<T>>(shapes[i].n, shapes[i].offset, shapes[i].decay, 1300 + 10 * i));
    tensors.push_back(cases.back()->Tensor());
  }
  absl::StatusOr<cuda::AdamWTensorList<T>> list = cuda::AdamWTensorList<T>::Create(tensors);
  ASSERT_TRUE(list.ok()) << list.status();
  const cpu::AdamWHyperparameters hyper = TestHyperparameters();
  for (int64_t step = 1; step <= 2; ++step) {
    const float scale = step == 1 ? 0.7f : 1.0f;
    for (size_t i = 0; i < cases.size(); ++i) cases[i]->NewGradient(1400 + 10 * i + step);
    ASSERT_TRUE(cuda::AdamWMultiTensorStep(*list, hyper, step, scale, nullptr).ok());
    for (auto& tensor_case : cases) tensor_case->ReferenceStep(hyper, step, scale);
  }
  for (const auto& tensor_case : cases) {
    SCOPED_TRACE(::testing::Message() << "tensor of " << tensor_case->n << " elements");
    tensor_case->ExpectMatches(true);
  }
}

TYPED_TEST(CudaAdamWTest, SingleTensorStepMatchesCpuTwin) {
  KACHI_SKIP_WITHOUT_GPU();
  using T = TypeParam;
  TensorCase<T> tensor_case(10007, 0, true, 1500);
  tensor_case.NewGradient(1501);
  const cpu::AdamWHyperparameters hyper = TestHyperparameters();
  ASSERT_TRUE(cuda::AdamWStep(tensor_case.master.data(), tensor_case.param.data(), tensor_case.grad.data(),
                              tensor_case.m.data(), tensor_case.v.data(), tensor_case.n, hyper, 3, 0.5f, nullptr)
                  .ok());
  tensor_case.ReferenceStep(hyper, 3, 0.5f);
  tensor_case.ExpectMatches(true);
}

TEST(CudaAdamWErrorTest, RejectsStepZeroAndNullPointers) {
  KACHI_SKIP_WITHOUT_GPU();
  DeviceArray<float> buffer(8);
  EXPECT_EQ(cuda::AdamWStep<float>(buffer.data(), nullptr, buffer.data(), buffer.data(), buffer.data(), 8, {}, 0, 1.0f,
                                   nullptr)
                .code(),
            absl::StatusCode::kInvalidArgument);
  cuda::AdamWTensor<float> missing_grad{buffer.data(), nullptr, nullptr, buffer.data(), buffer.data(), 8, true};
  EXPECT_EQ(cuda::AdamWTensorList<float>::Create({missing_grad}).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace kachi::testing
