// One runner's line of `kachi bench train`: kachi's trainer or a mode of the PyTorch peer, measured on the same
// model shape and batch.
#ifndef KACHI_BENCH_TRAIN_TRAIN_BENCH_RESULT_H_
#define KACHI_BENCH_TRAIN_TRAIN_BENCH_RESULT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/model/profiling_ops.h"

namespace kachi {

// Medians over the timed steps of one runner.
struct TrainBenchResult {
  std::string runner;          // "kachi", "torch eager", "torch compile"
  std::string precision;       // "fp32" (kachi today), "bf16-autocast" (the peer)
  int64_t batch = 0;           // sequences per step (one micro-batch, no accumulation)
  int64_t seq_len = 0;         // tokens per sequence
  int64_t timed_steps = 0;     // steps the median is taken over
  double ms_per_step = 0;      // median wall time of a step, device work finished
  double tokens_per_s = 0;     // batch x seq_len / median step time
  int64_t flops_per_token = 0; // train_flops.h
  double mfu_peak = 0;         // fraction of the dense bf16 peak
  double mfu_ceiling = 0;      // fraction of the measured matmul ceiling (0: no ceiling given)
  int64_t peak_memory_bytes = -1;  // device memory the run held at its peak (-1: not measured, e.g. on CPU)
  double first_loss = 0;       // loss of the first step (warmup included) and of the last
  double last_loss = 0;
  // With TrainBenchOptions::profile: one more step with every op synchronized and timed (ProfilingOps), its wall
  // time, and the ops' times, largest first.
  double profiled_step_ms = 0;
  std::vector<ProfilingOps::OpTime> op_times;
};

}  // namespace kachi

#endif  // KACHI_BENCH_TRAIN_TRAIN_BENCH_RESULT_H_
