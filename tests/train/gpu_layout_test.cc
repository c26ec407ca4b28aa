// Mixed-precision GPU training across layouts on NCCL (run under mpirun -np 2; skipped without a GPU; both ranks may
// share one GPU with a distinct NCCL_HOSTID each, as tests/train/CMakeLists.txt does): a small GPT (head size 64)
// trained 10 steps with the CUDA kernels in bf16 at (dp, tp) = (2, 1), (1, 2) and (2, 1) with ZeRO-1 over an NCCL
// world must match the single-rank bf16 run on the same GPU within the bf16 tolerances of the CPU layouts
// (mixed_precision_equivalence_test.cc): losses 1e-3 relative per step, weights 6e-2, biases 1.5e-1 (per-tensor
// relative L2 of the fp32 master). The trainer's scalars (loss, gradient norm) cross NCCL staged from host memory.
// Small gradient buckets (many per step), so that at dp = 2 the overlapped reduction really runs while backward goes
// on (NCCL's stream ordered after the compute stream by events only); it must give bitwise what reducing after
// backward gives, which a bucket read before backward finished writing it (or an optimizer step before the
// reduction ended) would break. The tolerances above would not see such a race: AdamW barely notices a gradient
// off by a factor.
#include <cuda_runtime.h>
#include <mpi.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "comm/nccl_communicator.h"
#include "comm/process_grid.h"
#include "gtest/gtest.h"
#include "runtime/data/token_shard.h"
#include "runtime/train/trainer.h"
#include "tests/train/train_test_util.h"
#include "tests/test_util.h"

namespace kachi {
namespace {

constexpr double kLossTolerance = 1e-3;
constexpr double kParamTolerance = 6e-2;
constexpr double kBiasTolerance = 1.5e-1;
const GptShape kShape{2, 2, 128, 256, 256, 64};
// About 9 buckets for this model (the default 25 MiB makes one, launched only once backward is over).
constexpr int64_t kBucketBytes = 64 << 10;

struct RunResult {
  std::vector<float> losses;
  std::vector<std::vector<float>> tensors;  // global, by layout tensor index
  OverlapStats overlap;                     // of the last step
};

// `overlap`: parallel.overlap_grad_reduce (unset: the backend's default, on for NCCL).
RunResult Train(Communicator& world, int dp, int tp, bool zero1, bool alone, const std::string& data,
                std::optional<bool> overlap = std::nullopt) {
  RunResult result;
  auto grid = ProcessGrid::Carve(world, alone ? world.rank() : 0, tp, /*host=*/"");
  EXPECT_TRUE(grid.ok()) << grid.status();
  if (!grid.ok() || *grid == nullptr) return result;
  TrainOptions options;
  options.shape = kShape;
  options.kernels = "cuda";
  options.precision = "bf16";
  int device = 0;
  cudaGetDevice(&device);
  options.device = device;
  options.train_pattern = data;
  options.seq_len = 64;
  options.global_batch = 8;
  options.micro_batch = 8 / dp;
  options.steps = 10;
  options.schedule = LrSchedule{1e-3, 2, 10, 0.1};
  options.adamw.eps = 1e-6;
  options.zero1 = zero1;
  options.bucket_bytes = kBucketBytes;
  options.overlap_grad_reduce = overlap;
  options.log_every = 0;
  auto trainer = Trainer::Create(options, grid->get());
  EXPECT_TRUE(trainer.ok()) << trainer.status();
  if (!trainer.ok()) return result;
  if (!testing::RunSteps(**trainer, &result.losses)) return result;
  result.overlap = (*trainer)->gradient_sync().overlap_stats();
  std::vector<float> master((*trainer)->model().buffer_size());
  EXPECT_TRUE((*trainer)->GetParameters(master.data()).ok());
  const ParameterLayout& layout = (*trainer)->model().layout();
  // Global tensors: each tp rank's pieces, summed over the tp group on the host through MPI (tp ranks are world
  // ranks 0..tp-1 here).
  for (const ParameterSpec& spec : layout.tensors()) {
    std::vector<float> global = testing::GlobalPieceOf(layout, spec, master.data());
    if (tp > 1) MPI_Allreduce(MPI_IN_PLACE, global.data(), static_cast<int>(global.size()), MPI_FLOAT, MPI_SUM,
                              MPI_COMM_WORLD);
    result.tensors.push_back(std::move(global));
  }
  return result;
}

void ExpectMatches(const RunResult& run, const RunResult& reference, const std::string& label) {
  ASSERT_EQ(reference.losses.size(), 10u);
  ASSERT_EQ(run.losses.size(), 10u) << label;
  for (size_t i = 0; i < run.losses.size(); ++i) {
    EXPECT_LE(std::fabs(run.losses[i] - reference.losses[i]) / reference.losses[i], kLossTolerance)
        << label << " step " << i;
  }
  const ParameterLayout names(kShape, 0, 1);
  for (size_t t = 0; t < run.tensors.size(); ++t) {
    const std::string& name = names.tensors()[t].name;
    if (name.find("attn.c_attn.bias") != std::string::npos) continue;  // key bias: see equivalence_test.cc
    const bool bias = name.find("bias") != std::string::npos;
    EXPECT_LE(testing::RelativeL2(run.tensors[t].data(), reference.tensors[t].data(), run.tensors[t].size()),
              bias ? kBiasTolerance : kParamTolerance)
        << label << " tensor " << name;
  }
}

TEST(GpuLayoutTest, Bf16LayoutsOnNcclMatchSingleRank) {
  KACHI_SKIP_WITHOUT_GPU();
  int size = 0, rank = 0;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  ASSERT_EQ(size, 2) << "run under mpirun -np 2";
  int devices = 0;
  cudaGetDeviceCount(&devices);
  auto world = CreateNcclCommunicator(MPI_COMM_WORLD, rank % devices, CommOptions{absl::Seconds(300), "world"});
  ASSERT_TRUE(world.ok()) << world.status();
  char dir[256] = {0};
  if (rank == 0) {
    std::snprintf(dir, sizeof(dir), "/tmp/kachi_gpu_layout_%d", static_cast<int>(getpid()));
    testing::WriteSkewedTokenShard(dir, 256, 40000, testing::TestDataSeed());
  }
  MPI_Bcast(dir, sizeof(dir), MPI_CHAR, 0, MPI_COMM_WORLD);
  const std::string data = std::string(dir) + "/train_*.bin";
  const RunResult reference = Train(**world, 1, 1, false, /*alone=*/true, data);
  const RunResult overlapped = Train(**world, 2, 1, false, false, data, /*overlap=*/true);
  ExpectMatches(overlapped, reference, "bf16 nccl dp=2");
  EXPECT_GT(overlapped.overlap.buckets, 3);
  EXPECT_GT(overlapped.overlap.launched_early, 0) << "no gradient bucket was reduced while backward ran";
  const RunResult serial = Train(**world, 2, 1, false, false, data, /*overlap=*/false);
  ASSERT_EQ(serial.losses.size(), overlapped.losses.size());
  EXPECT_EQ(std::memcmp(serial.losses.data(), overlapped.losses.data(), serial.losses.size() * sizeof(float)), 0)
      << "dp=2 losses differ between the overlapped reduction and the reduction after backward";
  ASSERT_EQ(serial.tensors.size(), overlapped.tensors.size());
  for (size_t t = 0; t < serial.tensors.size(); ++t) {
    ASSERT_EQ(serial.tensors[t].size(), overlapped.tensors[t].size());
    EXPECT_EQ(std::memcmp(serial.tensors[t].data(), overlapped.tensors[t].data(),
                          serial.tensors[t].size() * sizeof(float)),
              0)
        << "dp=2 weights of tensor " << t << " differ between overlap on and off";
  }
  ExpectMatches(Train(**world, 1, 2, false, false, data), reference, "bf16 nccl tp=2");
  ExpectMatches(Train(**world, 2, 1, true, false, data), reference, "bf16 nccl dp=2 zero1");
  MPI_Barrier(MPI_COMM_WORLD);
  if (rank == 0) std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace kachi
