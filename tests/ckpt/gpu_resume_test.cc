// Bitwise resume on the GPU (run under mpirun -np 1; skipped without a GPU): a small GPT on the CUDA kernels trained
// 20 steps straight vs 10 steps with async saves + restore + 10 more must give bitwise-equal losses, parameters and
// AdamW moments (the kernels are deterministic: no order-varying atomics).
#include <mpi.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "comm/mpi_communicator.h"
#include "comm/process_grid.h"
#include "gtest/gtest.h"
#include "runtime/ckpt/checkpoint_writer.h"
#include "runtime/ckpt/restore.h"
#include "runtime/data/token_shard.h"
#include "runtime/train/trainer.h"
#include "tests/test_util.h"

namespace kachi {
namespace {

struct DeviceRun {
  std::vector<float> losses, params, m, v;
};

TrainOptions GpuOptions(const std::string& data) {
  TrainOptions options;
  options.shape = GptShape{2, 2, 128, 256, 256, 64};  // head size 64 (flash attention)
  options.kernels = "cuda";
  options.device = 0;
  options.train_pattern = data;
  options.seq_len = 64;
  options.global_batch = 4;
  options.micro_batch = 2;  // accumulation 2
  options.steps = 20;
  options.schedule = LrSchedule{1e-3, 2, 20, 0.1};
  options.log_every = 0;
  return options;
}

// Trains until `stop_at` steps are done (restoring from `resume_dir` first when set, saving into `save_dir` every 5
// steps when set) and returns what it did and the final state, downloaded.
DeviceRun Train(ProcessGrid* grid, const std::string& data, int64_t stop_at, const std::string& resume_dir,
                const std::string& save_dir) {
  DeviceRun run;
  auto trainer = Trainer::Create(GpuOptions(data), grid);
  EXPECT_TRUE(trainer.ok()) << trainer.status();
  if (!trainer.ok()) return run;
  Trainer& t = **trainer;
  if (!resume_dir.empty()) {
    auto report = ckpt::RestoreTrainer(resume_dir, t, *grid, nullptr);
    EXPECT_TRUE(report.ok()) << report.status();
    if (!report.ok()) return run;
  }
  std::unique_ptr<ckpt::CheckpointWriter> writer;
  if (!save_dir.empty()) {
    ckpt::CheckpointOptions options;
    options.dir = save_dir;
    options.every = 5;
    options.async = true;
    writer = std::make_unique<ckpt::CheckpointWriter>(options, grid);
  }
  while (t.step() < stop_at) {
    auto step = t.Step();
    EXPECT_TRUE(step.ok()) << step.status();
    if (!step.ok()) return run;
    run.losses.push_back(step->loss);
    if (writer) EXPECT_TRUE(writer->AfterStep(t).ok());
  }
  if (writer) EXPECT_TRUE(writer->Finish().ok());
  run.params.resize(t.model().buffer_size());
  EXPECT_TRUE(t.model().GetParameters(run.params.data()).ok());
  for (auto [host, device] : {std::pair{&run.m, &t.optimizer().first_moment()},
                              std::pair{&run.v, &t.optimizer().second_moment()}}) {
    host->resize(device->size());
    EXPECT_TRUE(t.model().ops().Download(host->data(), device->data(), host->size() * sizeof(float)).ok());
  }
  return run;
}

bool BitwiseEqual(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

TEST(GpuResumeTest, SplitRunWithAsyncSaveIsBitwiseIdentical) {
  KACHI_SKIP_WITHOUT_GPU();
  auto world = CreateMpiCommunicator(MPI_COMM_WORLD, CommOptions{});
  ASSERT_TRUE(world.ok()) << world.status();
  auto grid = ProcessGrid::Create(**world, 1, 1, 1);
  ASSERT_TRUE(grid.ok()) << grid.status();
  const std::string dir = "/tmp/kachi_gpu_resume_" + std::to_string(getpid());
  std::filesystem::create_directories(dir);
  std::mt19937 gen(std::random_device{}());
  std::vector<uint16_t> tokens(40000);
  for (auto& t : tokens) t = static_cast<uint16_t>(gen() % 256);
  ASSERT_TRUE(WriteTokenShard(dir + "/train_000000.bin", tokens).ok());
  const std::string data = dir + "/train_*.bin";

  const DeviceRun straight = Train(grid->get(), data, 20, "", "");
  const DeviceRun first = Train(grid->get(), data, 10, "", dir + "/ckpt");
  const DeviceRun second = Train(grid->get(), data, 20, dir + "/ckpt", "");
  std::filesystem::remove_all(dir);
  ASSERT_EQ(straight.losses.size(), 20u);
  ASSERT_EQ(first.losses.size(), 10u);
  ASSERT_EQ(second.losses.size(), 10u);
  std::vector<float> split = first.losses;
  split.insert(split.end(), second.losses.begin(), second.losses.end());
  EXPECT_TRUE(BitwiseEqual(split, straight.losses));
  EXPECT_TRUE(BitwiseEqual(second.params, straight.params));
  EXPECT_TRUE(BitwiseEqual(second.m, straight.m));
  EXPECT_TRUE(BitwiseEqual(second.v, straight.v));
}

}  // namespace
}  // namespace kachi
