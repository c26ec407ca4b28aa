// kachi's side of `kachi bench train`: the Trainer on one process (a 1 x 1 grid) over random tokens written to a
// temporary shard, a few warmup steps, then timed steps with the device synchronized after each.
#ifndef KACHI_BENCH_TRAIN_TRAIN_BENCH_H_
#define KACHI_BENCH_TRAIN_TRAIN_BENCH_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "bench/train/train_bench_result.h"
#include "comm/process_grid.h"
#include "runtime/model/gpt_shape.h"

namespace kachi {

// What to measure.
struct TrainBenchOptions {
  GptShape shape;
  int64_t seq_len = 0;
  int64_t micro_batch = 0;     // sequences per step (global batch = micro batch: no accumulation)
  int64_t warmup_steps = 2;    // untimed
  int64_t timed_steps = 5;
  std::string kernels = "cpu";  // "cpu" or "cuda" (CUDA kernels on `device`)
  std::string precision = "fp32";  // "fp32" or "bf16" (mixed precision: train.precision)
  bool activation_recompute = false;  // train.activation_recompute
  bool profile = false;  // after the timed steps, one step with every op timed (TrainBenchResult::op_times)
  int device = -1;
  uint64_t seed = 1234;        // parameter initialization and the random tokens
  double peak_tflops = 989.0;  // dense bf16 peak MFU is reported against
  double matmul_tflops = 0;    // measured matmul ceiling (0: not known)
};

// Checks the options (positive steps and sizes, seq_len within the context, a 1 x 1 grid) and runs the benchmark.
// The trainer and its memory are gone when this returns.
absl::StatusOr<TrainBenchResult> RunKachiTrainBench(const TrainBenchOptions& options, ProcessGrid* grid);

// The median of `values` (the mean of the middle two for an even count); 0 for none.
double MedianOf(std::vector<double> values);

}  // namespace kachi

#endif  // KACHI_BENCH_TRAIN_TRAIN_BENCH_H_
