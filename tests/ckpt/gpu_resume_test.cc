// Bitwise resume on the GPU (run under mpirun -np 1; skipped without a GPU): a small GPT on the CUDA kernels trained
// 20 steps straight vs 10 steps with async saves + restore + 10 more must give bitwise-equal losses, parameters (the
// fp32 master in bf16 mixed precision) and AdamW moments, in fp32 and in bf16 (the kernels are deterministic: no
// order-varying atomics). And the two snapshot paths of a device
// (a device staging copy downloaded in small chunks through two pinned buffers while training goes on, and the
// synchronous download into pinned memory) must write the same bytes.
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "comm/process_grid.h"
#include "gtest/gtest.h"
#include "runtime/ckpt/checkpoint_writer.h"
#include "runtime/ckpt/manifest.h"
#include "runtime/ckpt/checkpoint_paths.h"
#include "runtime/ckpt/restore.h"
#include "runtime/data/token_shard.h"
#include "runtime/train/trainer.h"
#include "tests/lib/single_rank_grid.h"
#include "tests/test_util.h"
#include "tests/train/train_test_util.h"

namespace kachi {
namespace {

struct DeviceRun {
  std::vector<float> losses, params, m, v;
};

TrainOptions GpuOptions(const std::string& data, const std::string& precision = "fp32") {
  TrainOptions options;
  options.precision = precision;
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
DeviceRun Train(ProcessGrid* grid, const std::string& data, const std::string& precision, int64_t stop_at,
                const std::string& resume_dir, const std::string& save_dir) {
  DeviceRun run;
  auto trainer = Trainer::Create(GpuOptions(data, precision), grid);
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
    if (writer) {
      EXPECT_TRUE(writer->AfterStep(t).ok());
    }
  }
  if (writer) {
    EXPECT_TRUE(writer->Finish().ok());
  }
  run.params.resize(t.model().buffer_size());
  EXPECT_TRUE(t.GetParameters(run.params.data()).ok());  // the fp32 master in mixed precision
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

class GpuResumePrecisionTest : public ::testing::TestWithParam<std::string> {};

TEST_P(GpuResumePrecisionTest, SplitRunWithAsyncSaveIsBitwiseIdentical) {
  KACHI_SKIP_WITHOUT_GPU();
  const std::string precision = GetParam();
  auto one = testing::CreateSingleRankGrid();
  ASSERT_TRUE(one.ok()) << one.status();
  const std::string dir = "/tmp/kachi_gpu_resume_" + precision + "_" + std::to_string(getpid());
  std::filesystem::create_directories(dir);
  std::mt19937 gen(testing::TestDataSeed());
  std::vector<uint16_t> tokens(40000);
  for (auto& t : tokens) t = static_cast<uint16_t>(gen() % 256);
  ASSERT_TRUE(WriteTokenShard(dir + "/train_000000.bin", tokens).ok());
  const std::string data = dir + "/train_*.bin";

  const DeviceRun straight = Train(one->grid.get(), data, precision, 20, "", "");
  const DeviceRun first = Train(one->grid.get(), data, precision, 10, "", dir + "/ckpt");
  const DeviceRun second = Train(one->grid.get(), data, precision, 20, dir + "/ckpt", "");
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

INSTANTIATE_TEST_SUITE_P(Precisions, GpuResumePrecisionTest, ::testing::Values("fp32", "bf16"),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

TEST(GpuResumeTest, StagedAndPinnedSnapshotsWriteTheSameBytes) {
  KACHI_SKIP_WITHOUT_GPU();
  auto one = testing::CreateSingleRankGrid();
  ASSERT_TRUE(one.ok()) << one.status();
  const std::string dir = "/tmp/kachi_gpu_snapshot_" + std::to_string(getpid());
  std::filesystem::create_directories(dir);
  std::mt19937 gen(testing::TestDataSeed());
  std::vector<uint16_t> tokens(40000);
  for (auto& t : tokens) t = static_cast<uint16_t>(gen() % 256);
  ASSERT_TRUE(WriteTokenShard(dir + "/train_000000.bin", tokens).ok());
  auto trainer = Trainer::Create(GpuOptions(dir + "/train_*.bin"), one->grid.get());
  ASSERT_TRUE(trainer.ok()) << trainer.status();
  for (int i = 0; i < 3; ++i) ASSERT_TRUE((*trainer)->Step().ok());
  // Step 3 saved through pinned memory; step 3 saved through device staging while step 4 runs; step 4 staged.
  struct Save {
    const char* name;
    bool staging, step_while_writing;
    int64_t step;
  };
  std::vector<uint32_t> crcs;
  for (const Save& save : {Save{"pinned", false, false, 3}, Save{"staged", true, true, 3},
                           Save{"staged_later", true, false, 4}}) {
    ckpt::CheckpointOptions options;
    options.dir = dir + "/" + save.name;
    options.async = true;
    options.snapshot.device_staging = save.staging;
    options.snapshot.chunk_bytes = 1 << 16;  // many chunks: the two pinned chunk buffers are reused many times
    ckpt::CheckpointWriter writer(options, one->grid.get());
    ASSERT_TRUE(writer.Save(**trainer).ok());
    if (save.step_while_writing) {
      ASSERT_TRUE((*trainer)->Step().ok());  // changes parameters and moments; the snapshot must not see it
    }
    ASSERT_TRUE(writer.Finish().ok());
    auto manifest = ckpt::ReadManifest(ckpt::StepDirPath(options.dir, save.step));
    ASSERT_TRUE(manifest.ok()) << save.name << ": " << manifest.status();
    ASSERT_EQ(manifest->shards_size(), 1);
    EXPECT_GT(manifest->shards(0).bytes(), 3 << 16);
    crcs.push_back(manifest->shards(0).crc32());
  }
  EXPECT_EQ(crcs[0], crcs[1]) << "the staged snapshot differs from the pinned download of the same step";
  EXPECT_NE(crcs[1], crcs[2]) << "step 4 saved the same bytes as step 3";
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace kachi
