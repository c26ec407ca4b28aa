// TrainOptions: everything a training run needs, independent of how it was configured (the CLI fills it from the
// protobuf config; tests fill it directly).
#ifndef KACHI_RUNTIME_TRAIN_TRAIN_OPTIONS_H_
#define KACHI_RUNTIME_TRAIN_TRAIN_OPTIONS_H_

#include <cstdint>
#include <optional>
#include <string>

#include "runtime/model/gpt_shape.h"
#include "runtime/train/lr_schedule.h"
#include "runtime/train/optimizer.h"

namespace kachi {

struct TrainOptions {
  GptShape shape;
  uint64_t init_seed = 1337;  // parameter initialization
  // Kernels: "cpu" (the reference kernels) or "cuda" (CUDA kernels on CUDA device `device`).
  std::string kernels = "cpu";
  int device = 0;
  // "fp32" or "bf16" (mixed precision: bf16 parameters, gradients, activations; fp32 master weights and moments).
  std::string precision = "fp32";
  // Recompute each block's activations in the backward pass instead of keeping them (GptModel).
  bool activation_recompute = false;
  // Put a ProfilingOps between the model and its ops (Trainer::profiler(); `kachi bench train --bench_profile`).
  bool profile_ops = false;
  // Data: token-shard globs, tokens per sequence, seed of the epoch permutations.
  std::string train_pattern;
  std::string val_pattern;  // empty: no evaluation
  int64_t seq_len = 64;
  uint64_t data_seed = 1;
  // Batch: global batch in sequences = micro_batch * accumulation * dp (accumulation is derived).
  int64_t global_batch = 8;
  int64_t micro_batch = 8;
  // Steps, schedule and optimizer.
  int64_t steps = 10;
  LrSchedule schedule;
  AdamWOptions adamw;
  // Data parallelism: bucket size of the gradient all-reduce; ZeRO-1 optimizer-state sharding.
  int64_t bucket_bytes = 25 << 20;
  bool zero1 = false;
  // All-reduce each gradient bucket while the last micro-step's backward continues (dp > 1 without ZeRO-1; the
  // result is bitwise that of reducing after backward). Unset: only when the data-parallel backend is asynchronous.
  std::optional<bool> overlap_grad_reduce;
  // Evaluation every eval_every steps (0: only at the end) on eval_windows validation windows.
  int64_t eval_every = 0;
  int64_t eval_windows = 0;
  // Rank 0's progress line every log_every steps (0: never); JSON-lines metrics file (empty: none).
  int64_t log_every = 1;
  std::string metrics_path;
  // Directory where rank 0 writes the same metrics as TensorBoard event files (empty: none; runtime/metrics/).
  std::string tensorboard_dir;
};

}  // namespace kachi

#endif  // KACHI_RUNTIME_TRAIN_TRAIN_OPTIONS_H_
