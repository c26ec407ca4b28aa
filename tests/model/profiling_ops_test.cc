// ProfilingOps (runtime/model/profiling_ops.h) and the optimizer's merged op calls it makes visible:
// - disabled, it forwards and records nothing; enabled, it counts every kernel call under the op's name (".bf16" for
//   the mixed-precision overloads), largest total first, and Reset forgets;
// - ShardedAdamW sums the gradient norm in one call per run of norm-counted tensors (one call at tp = 1) and updates
//   in one call per run of equal weight decay, with results bitwise equal to a per-tensor AdamW.
#include "runtime/model/profiling_ops.h"

#include <cmath>
#include <cstring>
#include <vector>

#include "gtest/gtest.h"
#include "kernels/adamw.h"
#include "runtime/model/parameter_layout.h"
#include "runtime/train/optimizer.h"
#include "tests/test_util.h"

namespace kachi {
namespace {

const GptShape kShape{2, 4, 32, 64, 64, 16};

int64_t Calls(const ProfilingOps& ops, const std::string& op) {
  for (const ProfilingOps::OpTime& time : ops.Report()) {
    if (time.op == op) return time.calls;
  }
  return 0;
}

TEST(ProfilingOpsTest, CountsEnabledCallsByNameLargestFirst) {
  ProfilingOps ops(&CpuModelOps());
  const int64_t n = 64;
  OpsBuffer<float> out(&ops, n), in(&ops, n);
  const std::vector<float> values = testing::RandomFloats(n, 3);
  ASSERT_TRUE(ops.Upload(in.data(), values.data(), n * sizeof(float)).ok());
  ASSERT_TRUE(ops.GeluForward(out.data(), in.data(), n).ok());  // disabled: forwarded, not recorded
  EXPECT_TRUE(ops.Report().empty());
  std::vector<float> gelu(n);
  ASSERT_TRUE(ops.Download(gelu.data(), out.data(), n * sizeof(float)).ok());
  EXPECT_NEAR(gelu[0], 0.5 * values[0] * (1 + std::tanh(0.7978845608 * (values[0] + 0.044715 * std::pow(values[0], 3)))),
              1e-6);

  ops.set_enabled(true);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(ops.GeluForward(out.data(), in.data(), n).ok());
  // A matmul big enough to take longer than the GELUs together.
  const int64_t rows = 256, channels = 256;
  OpsBuffer<float> a(&ops, rows * channels), w(&ops, channels * channels), c(&ops, rows * channels);
  ASSERT_TRUE(ops.MatmulForward(c.data(), a.data(), w.data(), nullptr, rows, channels, channels).ok());
  OpsBuffer<Bf16> half(&ops, n);
  ASSERT_TRUE(ops.Fill(half.data(), 1.5f, n).ok());
  EXPECT_EQ(Calls(ops, "GeluForward"), 3);
  EXPECT_EQ(Calls(ops, "MatmulForward"), 1);
  EXPECT_EQ(Calls(ops, "Fill.bf16"), 1);
  const std::vector<ProfilingOps::OpTime> report = ops.Report();
  ASSERT_EQ(report.size(), 3u);
  EXPECT_EQ(report.front().op, "MatmulForward");
  for (size_t i = 1; i < report.size(); ++i) EXPECT_GE(report[i - 1].seconds, report[i].seconds);
  ops.Reset();
  EXPECT_TRUE(ops.Report().empty());
}

// Runs one ShardedAdamW step of `layout` through a ProfilingOps and a per-tensor reference; returns the profiler's
// report after checking the two give bitwise equal parameters and moments.
std::vector<ProfilingOps::OpTime> StepAndCompare(const ParameterLayout& layout) {
  const int64_t size = layout.total_size();
  std::vector<float> params = testing::RandomFloats(size, 5), grads = testing::RandomFloats(size, 6, -1e-2f, 1e-2f);
  std::vector<float> ref_params = params, ref_m(size, 0.0f), ref_v(size, 0.0f);
  AdamWOptions options;
  options.grad_clip = 0;  // no clipping: the reference needs no norm
  ProfilingOps ops(&CpuModelOps());
  ShardedAdamW optimizer(layout, FlatRange{0, size}, false, nullptr, nullptr, options, &ops, false);
  ops.set_enabled(true);
  absl::StatusOr<double> norm = optimizer.Step(params.data(), grads.data(), 1e-2);
  EXPECT_TRUE(norm.ok()) << norm.status();
  double counted = 0;
  for (const ParameterSpec& spec : layout.tensors()) {
    cpu::AdamWStep(ref_params.data() + spec.offset, grads.data() + spec.offset, ref_m.data() + spec.offset,
                   ref_v.data() + spec.offset, spec.size, 1e-2, options.beta1, options.beta2, options.eps,
                   spec.decay ? options.weight_decay : 0.0, 1);
    if (spec.tp_replicated && layout.tp_rank() != 0) continue;
    for (int64_t i = 0; i < spec.size; ++i) counted += double(grads[spec.offset + i]) * grads[spec.offset + i];
  }
  EXPECT_NEAR(*norm, std::sqrt(counted), 1e-6 * std::sqrt(counted));
  EXPECT_EQ(std::memcmp(params.data(), ref_params.data(), size * sizeof(float)), 0) << "parameters differ";
  EXPECT_EQ(std::memcmp(optimizer.first_moment().data(), ref_m.data(), size * sizeof(float)), 0);
  EXPECT_EQ(std::memcmp(optimizer.second_moment().data(), ref_v.data(), size * sizeof(float)), 0);
  return ops.Report();
}

// Number of maximal runs of consecutive tensors for which `same(previous, next)` holds across each join.
template <typename Join>
int64_t Runs(const ParameterLayout& layout, Join same) {
  int64_t runs = 0;
  const auto& tensors = layout.tensors();
  for (size_t t = 0; t < tensors.size(); ++t) runs += t == 0 || !same(tensors[t - 1], tensors[t]);
  return runs;
}

TEST(OptimizerRunsTest, OneNormCallAtTpOneAndOneUpdatePerDecayRun) {
  const ParameterLayout layout(kShape, 0, 1);
  const auto report = StepAndCompare(layout);
  int64_t sums = 0, updates = 0;
  for (const auto& time : report) {
    if (time.op == "SumOfSquares") sums = time.calls;
    if (time.op == "AdamWStep") updates = time.calls;
  }
  EXPECT_EQ(sums, 1);
  const int64_t decay_runs = Runs(layout, [](const ParameterSpec& a, const ParameterSpec& b) { return a.decay == b.decay; });
  EXPECT_EQ(updates, decay_runs);
  EXPECT_LT(updates, static_cast<int64_t>(layout.tensors().size()));
}

TEST(OptimizerRunsTest, ReplicatedTensorsSplitTheNormRunsOnOtherTpRanks) {
  const ParameterLayout layout(kShape, 1, 2);  // tp rank 1 of 2: replicated tensors are not counted here
  const auto report = StepAndCompare(layout);
  int64_t sums = 0;
  for (const auto& time : report) {
    if (time.op == "SumOfSquares") sums = time.calls;
  }
  // Runs of counted tensors: a run starts at each counted tensor whose predecessor is not counted.
  int64_t counted_runs = 0;
  const auto& tensors = layout.tensors();
  for (size_t t = 0; t < tensors.size(); ++t) {
    const bool counted = !tensors[t].tp_replicated;
    counted_runs += counted && (t == 0 || tensors[t - 1].tp_replicated);
  }
  EXPECT_GT(counted_runs, 1);
  EXPECT_EQ(sums, counted_runs);
}

}  // namespace
}  // namespace kachi
