// bench_ckpt: checkpoint throughput beside its peer. Trains a GPT (GPT-2 124M on a GPU with the CUDA kernels; a
// small model on CPU) a few steps on random tokens, then times in one run, REPS times each, interleaved, medians
// printed: a synchronous save (bytes / s) in its default configuration and in variants of the write pipeline (crc32
// serial instead of overlapped, no early write-back, another chunk size, on a GPU without device staging), a raw sequential write of the
// same number of bytes by dd (conv=fsync) into the same directory, a restore into a fresh trainer, and the per-step
// stall of async saves against the step time.
//   bench_ckpt [DIR [REPS]]     (default /tmp/kachi_ckpt_bench, 3; DIR is removed at the end)
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "comm/mpi_communicator.h"
#include "comm/process_grid.h"
#include "kernels/base/status_macros.h"
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

// `status` with `what` (the step that failed) before its message; OK stays OK.
absl::Status Annotate(const absl::Status& status, absl::string_view what) {
  if (status.ok()) return status;
  return absl::Status(status.code(), absl::StrCat(what, ": ", status.message()));
}

// The status of a save and of the writer's Finish after it (the first error).
absl::Status SaveAndFinish(ckpt::CheckpointWriter& writer, const absl::StatusOr<double>& saved) {
  KACHI_RETURN_IF_ERROR(Annotate(saved.status(), "save"));
  return Annotate(writer.Finish(), "finishing a save");
}

// The whole benchmark; prints its tables on success, returns the first error otherwise.
absl::Status Run(const std::string& dir, int reps) {
  KACHI_ASSIGN_OR_RETURN(auto world, CreateMpiCommunicator(MPI_COMM_WORLD, CommOptions{}));
  KACHI_ASSIGN_OR_RETURN(auto grid, ProcessGrid::Create(*world, 1, 1, /*host=*/""));
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
  KACHI_RETURN_IF_ERROR(Annotate(WriteTokenShard(options.train_pattern, tokens),
                                 "writing the token shard " + options.train_pattern));

  KACHI_ASSIGN_OR_RETURN(auto trainer, Trainer::Create(options, grid.get()));
  Trainer& t = *trainer;
  std::vector<double> step_seconds;
  for (int i = 0; i < 5; ++i) {
    KACHI_ASSIGN_OR_RETURN(auto step, t.Step());
    if (i >= 2) step_seconds.push_back(step.seconds);
  }
  const double step_time = Median(step_seconds);

  // Synchronous saves (each into a fresh directory: no older step to move aside) vs dd of the same bytes.
  struct Variant {
    const char* name;
    ckpt::SnapshotOptions snapshot;
    std::vector<double> seconds;
  };
  std::vector<Variant> variants = {{"save (sync, fsync'd, committed)", {}, {}},
                                   {"  variant: crc32 serial, not overlapped", {true, 64 << 20, false, true}, {}},
                                   {"  variant: no early write-back", {true, 64 << 20, true, false}, {}},
                                   {"  variant: 16 MiB chunks", {true, 16 << 20, true, true}, {}}};
  if (gpu) variants.push_back({"  variant: no device staging", {false, 64 << 20, true, true}, {}});
  const std::string sync_dir = dir + "/sync";
  int64_t bytes = 0;
  std::vector<double> dd_seconds;
  int dd_rc = 0;
  int save_count = 0;
  // One writer per variant, as in a run: its buffers are allocated by its first save (timed apart) and reused.
  std::vector<std::unique_ptr<ckpt::CheckpointWriter>> writers;
  double first_save_seconds = 0;
  for (Variant& variant : variants) {
    ckpt::CheckpointOptions sync_options;
    sync_options.dir = sync_dir;
    sync_options.async = false;
    sync_options.snapshot = variant.snapshot;
    writers.push_back(std::make_unique<ckpt::CheckpointWriter>(sync_options, grid.get()));
    std::filesystem::remove_all(sync_dir);
    const double start = Now();
    auto saved = writers.back()->Save(t);
    if (writers.size() == 1) first_save_seconds = Now() - start;
    KACHI_RETURN_IF_ERROR(
        Annotate(SaveAndFinish(*writers.back(), saved), absl::StripLeadingAsciiWhitespace(variant.name)));
  }
  for (int rep = 0; rep < reps; ++rep) {
    for (size_t v = 0; v < variants.size(); ++v) {
      Variant& variant = variants[v];
      ckpt::CheckpointWriter& writer = *writers[v];
      std::filesystem::remove_all(sync_dir);
      const double start = Now();
      auto saved = writer.Save(t);
      variant.seconds.push_back(Now() - start);
      KACHI_RETURN_IF_ERROR(
          Annotate(SaveAndFinish(writer, saved), absl::StripLeadingAsciiWhitespace(variant.name)));
      bytes = DirectoryBytes(sync_dir);
      ++save_count;
    }
    const int64_t blocks = (bytes + (64 << 20) - 1) >> 26;
    const std::string dd = absl::StrFormat("dd if=/dev/zero of=%s/dd.bin bs=64M count=%d conv=fsync status=none",
                                           dir, blocks);
    const double dd_start = Now();
    dd_rc |= std::system(dd.c_str());
    dd_seconds.push_back(Now() - dd_start);
    std::filesystem::remove(dir + "/dd.bin");
  }
  const double dd_bytes = static_cast<double>((bytes + (64 << 20) - 1) >> 26) * (64 << 20);
  const double save_seconds = Median(variants[0].seconds);
  writers.clear();
  ckpt::CheckpointOptions sync_options;  // the last save stays for the restore
  sync_options.dir = sync_dir;

  // Restore into a fresh trainer (the files are likely in the page cache: this is the load path's own cost).
  auto fresh = Trainer::Create(options, grid.get());
  KACHI_RETURN_IF_ERROR(Annotate(fresh.status(), "creating the trainer to restore into"));
  const double load_start = Now();
  auto restored = ckpt::RestoreTrainer(sync_options.dir, **fresh, *grid, nullptr);
  const double load_seconds = Now() - load_start;
  KACHI_RETURN_IF_ERROR(Annotate(restored.status(), "restore"));

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
    ckpt::CheckpointWriter writer(async_options, grid.get());
    for (int64_t i = 0; i < 3 * spacing; ++i) {
      auto step = t.Step();
      KACHI_RETURN_IF_ERROR(Annotate(step.status(), absl::StrCat("training step ", i, " during async saves")));
      const int64_t saves_before = writer.saves_started();
      auto stall = writer.AfterStep(t);
      KACHI_RETURN_IF_ERROR(Annotate(stall.status(), "async save after a step"));
      if (writer.saves_started() > saves_before) {
        stalls.push_back(*stall);
      } else {
        async_steps.push_back(step->seconds);
      }
    }
    KACHI_RETURN_IF_ERROR(Annotate(writer.Finish(), "finishing the async saves"));
  }
  std::filesystem::remove_all(dir);

  const double gb = 1e9;
  std::printf("# bench_ckpt: %s, %s kernels, %.1fM parameters, batch %lld x %lld, checkpoint %.2f GB (params + AdamW "
              "m, v in fp32)\n",
              DescribeShape(options.shape).c_str(), options.kernels.c_str(), options.shape.num_parameters() / 1e6,
              static_cast<long long>(options.global_batch), static_cast<long long>(options.seq_len), bytes / gb);
  const double dd_median = Median(dd_seconds);
  std::printf("# medians of %d interleaved repetitions (%d saves); save / dd is each line's throughput over dd's\n",
              reps, save_count);
  std::printf("%-40s %10s %10s %10s\n", "what", "seconds", "GB/s", "/ dd");
  for (const Variant& variant : variants) {
    const double seconds = Median(variant.seconds);
    std::printf("%-40s %10.3f %10.2f %10.2f\n", variant.name, seconds, bytes / gb / seconds,
                (bytes / seconds) / (dd_bytes / dd_median));
  }
  std::printf("%-40s %10.3f %10.2f   %s\n", "dd same bytes (conv=fsync)", dd_median, dd_bytes / gb / dd_median,
              dd_rc == 0 ? "" : "(dd failed)");
  std::printf("%-40s %10.3f %10.2f\n", "first save of a run (allocates buffers)", first_save_seconds,
              bytes / gb / first_save_seconds);
  std::printf("%-40s %10.3f %10.2f\n", "load (restore, page cache warm)", load_seconds, bytes / gb / load_seconds);
  std::printf("save / dd throughput: %.2f (goal >= 0.70)\n", (bytes / save_seconds) / (dd_bytes / dd_median));
  std::printf("step %.1f ms (median before saving); async save every %lld steps: median stall %.1f ms = %.1f%% of a "
              "step (goal <= 10%%) over %zu saves (the first, which allocates the snapshot buffers: %.1f ms); other "
              "steps while a save was writing %.1f ms\n",
              step_time * 1e3, static_cast<long long>(spacing), Median(stalls) * 1e3,
              100 * Median(stalls) / step_time, stalls.size(), stalls.empty() ? 0.0 : stalls.front() * 1e3,
              Median(async_steps) * 1e3);
  return absl::OkStatus();
}

}  // namespace
}  // namespace kachi

int main(int argc, char** argv) {
  if (const absl::Status init = kachi::InitMpi(&argc, &argv); !init.ok()) {
    std::fprintf(stderr, "bench_ckpt: MPI init: %s\n", init.ToString().c_str());
    return 1;
  }
  const int reps = argc > 2 ? std::max(1, std::atoi(argv[2])) : 3;
  const absl::Status status = kachi::Run(argc > 1 ? argv[1] : "/tmp/kachi_ckpt_bench", reps);
  if (!status.ok()) std::fprintf(stderr, "bench_ckpt: %s\n", status.ToString().c_str());
  kachi::FinalizeMpi();
  return status.ok() ? 0 : 1;
}
