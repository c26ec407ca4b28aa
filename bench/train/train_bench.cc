// kachi's trainer timed on random tokens (see train_bench.h).
#include "bench/train/train_bench.h"

#include <algorithm>
#include <chrono>
#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "bench/train/device_memory.h"
#include "bench/train/synthetic_tokens.h"
#include "bench/train/train_flops.h"
#include "kernels/base/status_macros.h"
#include "runtime/train/trainer.h"

namespace kachi {
namespace {

absl::Status CheckOptions(const TrainBenchOptions& options, const ProcessGrid& grid) {
  if (grid.dp_size() != 1 || grid.tp_size() != 1) {
    return absl::InvalidArgumentError(absl::StrCat("kachi bench train runs on one process: the grid is dp ",
                                                   grid.dp_size(), " x tp ", grid.tp_size(), ", expected 1 x 1"));
  }
  if (options.micro_batch <= 0) {
    return absl::InvalidArgumentError(absl::StrCat("micro-batch ", options.micro_batch, " must be positive"));
  }
  if (options.timed_steps <= 0 || options.warmup_steps < 0) {
    return absl::InvalidArgumentError(absl::StrCat("steps: ", options.timed_steps, " timed and ",
                                                   options.warmup_steps,
                                                   " warmup, expected at least 1 timed and no negative warmup"));
  }
  if (options.seq_len <= 0 || options.seq_len > options.shape.context) {
    return absl::InvalidArgumentError(absl::StrCat("seq_len ", options.seq_len, " must be in [1, model context ",
                                                   options.shape.context, "]"));
  }
  if (options.kernels != "cpu" && options.kernels != "cuda") {
    return absl::InvalidArgumentError(absl::StrCat("kernels '", options.kernels, "': expected cpu or cuda"));
  }
  return absl::OkStatus();
}

double NowSeconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

double MedianOf(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const size_t mid = values.size() / 2;
  return values.size() % 2 == 1 ? values[mid] : 0.5 * (values[mid - 1] + values[mid]);
}

absl::StatusOr<TrainBenchResult> RunKachiTrainBench(const TrainBenchOptions& options, ProcessGrid* grid) {
  KACHI_RETURN_IF_ERROR(CheckOptions(options, *grid));
  const int64_t steps = options.warmup_steps + options.timed_steps;
  // Enough windows of seq_len + 1 tokens for every step without revisiting one (and never fewer than 4 steps' worth).
  const int64_t windows = std::max<int64_t>(steps, 4) * options.micro_batch + 1;
  KACHI_ASSIGN_OR_RETURN(
      SyntheticTokenShard shard,
      SyntheticTokenShard::Create(windows * (options.seq_len + 1), options.shape.vocab_size, options.seed));

  TrainOptions train;
  train.shape = options.shape;
  train.init_seed = options.seed;
  train.kernels = options.kernels;
  train.precision = options.precision;
  train.activation_recompute = options.activation_recompute;
  train.profile_ops = options.profile;
  train.device = std::max(options.device, 0);
  train.train_pattern = shard.path();
  train.seq_len = options.seq_len;
  train.data_seed = options.seed;
  train.global_batch = options.micro_batch;
  train.micro_batch = options.micro_batch;
  train.steps = steps;
  train.schedule = LrSchedule{6e-4, 0, steps, 0.1};
  train.log_every = 0;

  std::optional<DeviceMemoryProbe> memory;
  if (options.kernels == "cuda") {
    KACHI_ASSIGN_OR_RETURN(DeviceMemoryProbe probe, DeviceMemoryProbe::Start(train.device));
    memory.emplace(probe);
  }
  KACHI_ASSIGN_OR_RETURN(std::unique_ptr<Trainer> trainer, Trainer::Create(train, grid));
  // One step with its device work finished: its loss, and its wall time into *seconds.
  auto timed_step = [&](double* seconds) -> absl::StatusOr<float> {
    const double start = NowSeconds();
    KACHI_ASSIGN_OR_RETURN(StepResult step, trainer->Step());
    KACHI_RETURN_IF_ERROR(trainer->model().ops().Synchronize());
    *seconds = NowSeconds() - start;
    return step.loss;
  };
  TrainBenchResult result;
  std::vector<double> timed_seconds;
  for (int64_t i = 0; i < steps; ++i) {
    double seconds = 0;
    KACHI_ASSIGN_OR_RETURN(float loss, timed_step(&seconds));
    if (memory.has_value()) {
      KACHI_RETURN_IF_ERROR(memory->Sample());
    }
    if (i >= options.warmup_steps) timed_seconds.push_back(seconds);
    if (i == 0) result.first_loss = loss;
    result.last_loss = loss;
  }
  if (options.profile) {
    ProfilingOps& profiler = *trainer->profiler();
    profiler.Reset();
    profiler.set_enabled(true);
    double seconds = 0;
    absl::StatusOr<float> loss = timed_step(&seconds);
    profiler.set_enabled(false);
    KACHI_RETURN_IF_ERROR(loss);
    result.profiled_step_ms = seconds * 1e3;
    result.op_times = profiler.Report();
  }
  result.runner = "kachi";
  result.precision = options.precision;
  result.batch = options.micro_batch;
  result.seq_len = options.seq_len;
  result.timed_steps = options.timed_steps;
  result.ms_per_step = MedianOf(timed_seconds) * 1e3;
  result.tokens_per_s = static_cast<double>(options.micro_batch * options.seq_len) / (result.ms_per_step / 1e3);
  result.flops_per_token = TrainFlopsPerToken(options.shape, options.seq_len);
  result.mfu_peak = ModelFlopsUtilization(result.flops_per_token, result.tokens_per_s, options.peak_tflops);
  result.mfu_ceiling = ModelFlopsUtilization(result.flops_per_token, result.tokens_per_s, options.matmul_tflops);
  if (memory.has_value()) result.peak_memory_bytes = memory->peak_bytes();
  return result;
}

}  // namespace kachi
