// bench_ckpt: checkpoint throughput beside its peer. Trains a GPT (GPT-2 124M on a GPU with the CUDA kernels; a
// small model on CPU) a few steps on random tokens, then times in one run: a synchronous save (bytes / s), a raw
// sequential write of the same number of bytes by dd (conv=fsync) into the same directory, a restore into a fresh
// trainer, and the per-step stall of async saves after every step against the step time.
//   bench_ckpt [DIR]        (default /tmp/kachi_ckpt_bench; removed at the end)
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "comm/mpi_communicator.h"
#include "comm/process_grid.h"
#include "runtime/ckpt/checkpoint_writer.h"
#include "runtime/ckpt/restore.h"
#include "runtime/data/token_shard.h"
#include "runtime/train/trainer.h"

#ifdef KACHI_WITH_CUDA
#include <cuda_runtime.h>
#endif

namespace kachi {
namespace {

double Now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values.empty() ? 0 : values[values.size() / 2];
}

bool HaveGpu() {
#ifdef KACHI_WITH_CUDA
  int count = 0;
  return cudaGetDeviceCount(&count) == cudaSuccess && count > 0;
#else
  return false;
#endif
}

int64_t DirectoryBytes(const std::string& dir) {
  int64_t total = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file()) total += static_cast<int64_t>(entry.file_size());
  }
  return total;
}

int Run(const std::string& dir) {
  auto world = CreateMpiCommunicator(MPI_COMM_WORLD, CommOptions{});
  if (!world.ok()) return std::fprintf(stderr, "%s\n", world.status().ToString().c_str()), 1;
  auto grid = ProcessGrid::Create(**world, 1, 1, 1);
  if (!grid.ok()) return std::fprintf(stderr, "%s\n", grid.status().ToString().c_str()), 1;
  const bool gpu = HaveGpu();
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);

  TrainOptions options;
  options.shape = gpu ? *GptPreset("gpt2_124m") : GptShape{4, 4, 256, 50257, 50304, 256};
  options.kernels = gpu ? "cuda" : "cpu";
  options.seq_len = gpu ? 1024 : 64;
  options.global_batch = options.micro_batch = gpu ? 4 : 2;
  options.steps = 1000;
  options.log_every = 0;
  std::mt19937 gen(12345);
  std::vector<uint16_t> tokens(options.global_batch * options.seq_len * 40 + 1);
  for (auto& t : tokens) t = static_cast<uint16_t>(gen() % 50257);
  options.train_pattern = dir + "/train_000000.bin";
  if (!WriteTokenShard(options.train_pattern, tokens).ok()) return 1;

  auto trainer = Trainer::Create(options, grid->get());
  if (!trainer.ok()) return std::fprintf(stderr, "%s\n", trainer.status().ToString().c_str()), 1;
  Trainer& t = **trainer;
  std::vector<double> step_seconds;
  for (int i = 0; i < 5; ++i) {
    auto step = t.Step();
    if (!step.ok()) return std::fprintf(stderr, "%s\n", step.status().ToString().c_str()), 1;
    if (i >= 2) step_seconds.push_back(step->seconds);
  }
  const double step_time = Median(step_seconds);

  // Synchronous save vs dd of the same bytes.
  ckpt::CheckpointOptions sync_options;
  sync_options.dir = dir + "/sync";
  sync_options.async = false;
  double save_seconds = 0;
  {
    ckpt::CheckpointWriter writer(sync_options, grid->get());
    const double start = Now();
    auto saved = writer.Save(t);
    save_seconds = Now() - start;
    if (!saved.ok() || !writer.Finish().ok()) return std::fprintf(stderr, "save failed\n"), 1;
  }
  const int64_t bytes = DirectoryBytes(sync_options.dir);
  const int64_t blocks = (bytes + (64 << 20) - 1) >> 26;
  const std::string dd = absl::StrFormat("dd if=/dev/zero of=%s/dd.bin bs=64M count=%d conv=fsync status=none", dir,
                                         blocks);
  const double dd_start = Now();
  const int dd_rc = std::system(dd.c_str());
  const double dd_seconds = Now() - dd_start;
  std::filesystem::remove(dir + "/dd.bin");
  const double dd_bytes = static_cast<double>(blocks) * (64 << 20);

  // Restore into a fresh trainer (the files are likely in the page cache: this is the load path's own cost).
  auto fresh = Trainer::Create(options, grid->get());
  if (!fresh.ok()) return 1;
  const double load_start = Now();
  auto restored = ckpt::RestoreTrainer(sync_options.dir, **fresh, **grid, nullptr);
  const double load_seconds = Now() - load_start;
  if (!restored.ok()) return std::fprintf(stderr, "%s\n", restored.status().ToString().c_str()), 1;

  // Async saves spaced so that the previous one has finished (at most one save is in flight: saving more often than
  // a save takes would stall on the previous save, not on the snapshot): the stall each costs its step.
  const int64_t spacing = static_cast<int64_t>(save_seconds / step_time) + 2;
  ckpt::CheckpointOptions async_options;
  async_options.dir = dir + "/async";
  async_options.every = spacing;
  async_options.async = true;
  async_options.retention = ckpt::RetentionPolicy{2, 0};
  std::vector<double> stalls, async_steps;
  {
    ckpt::CheckpointWriter writer(async_options, grid->get());
    for (int64_t i = 0; i < 3 * spacing; ++i) {
      auto step = t.Step();
      if (!step.ok()) return 1;
      const int64_t saves_before = writer.saves_started();
      auto stall = writer.AfterStep(t);
      if (!stall.ok()) return std::fprintf(stderr, "%s\n", stall.status().ToString().c_str()), 1;
      if (writer.saves_started() > saves_before) {
        stalls.push_back(*stall);
      } else {
        async_steps.push_back(step->seconds);
      }
    }
    if (!writer.Finish().ok()) return 1;
  }
  std::filesystem::remove_all(dir);

  const double gb = 1e9;
  std::printf("# bench_ckpt: %s, %s kernels, %.1fM parameters, batch %lld x %lld, checkpoint %.2f GB (params + AdamW "
              "m, v in fp32)\n",
              DescribeShape(options.shape).c_str(), options.kernels.c_str(), options.shape.num_parameters() / 1e6,
              static_cast<long long>(options.global_batch), static_cast<long long>(options.seq_len), bytes / gb);
  std::printf("%-34s %10s %10s\n", "what", "seconds", "GB/s");
  std::printf("%-34s %10.3f %10.2f\n", "save (sync, fsync'd, committed)", save_seconds, bytes / gb / save_seconds);
  std::printf("%-34s %10.3f %10.2f   %s\n", "dd same bytes (conv=fsync)", dd_seconds, dd_bytes / gb / dd_seconds,
              dd_rc == 0 ? "" : "(dd failed)");
  std::printf("%-34s %10.3f %10.2f\n", "load (restore, page cache warm)", load_seconds, bytes / gb / load_seconds);
  std::printf("save / dd throughput: %.2f (goal >= 0.70)\n", (bytes / save_seconds) / (dd_bytes / dd_seconds));
  std::printf("step %.1f ms (median before saving); async save every %lld steps: median stall %.1f ms = %.1f%% of a "
              "step (goal <= 10%%) over %zu saves; other steps while a save was writing %.1f ms\n",
              step_time * 1e3, static_cast<long long>(spacing), Median(stalls) * 1e3,
              100 * Median(stalls) / step_time, stalls.size(), Median(async_steps) * 1e3);
  return 0;
}

}  // namespace
}  // namespace kachi

int main(int argc, char** argv) {
  if (!kachi::InitMpi(&argc, &argv).ok()) return 1;
  const int rc = kachi::Run(argc > 1 ? argv[1] : "/tmp/kachi_ckpt_bench");
  kachi::FinalizeMpi();
  return rc;
}
