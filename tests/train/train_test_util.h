// Helpers of the training tests: the seed of their random data, a token shard with a skewed (learnable) unigram
// distribution (also written once for a whole MPI job), a trainer's run with its losses, a rank's piece of a
// parameter tensor placed in its global shape, whole tensors summed over the tensor-parallel group, the relative
// L2 difference of two tensors, and the tiny training options and trained trainer the equivalence tests share.
#ifndef KACHI_TESTS_TRAIN_TRAIN_TEST_UTIL_H_
#define KACHI_TESTS_TRAIN_TRAIN_TEST_UTIL_H_

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <unistd.h>

#include "comm/communicator.h"
#include "gtest/gtest.h"
#include "runtime/data/token_shard.h"
#include "runtime/model/parameter_layout.h"
#include "runtime/train/trainer.h"

namespace kachi::testing {

// The seed of a test's random data: $KACHI_TEST_SEED when set (to repeat a failed run), else a fresh one from
// std::random_device. Printed either way, so that a failure names the data it saw.
inline uint32_t TestDataSeed() {
  const char* fixed = std::getenv("KACHI_TEST_SEED");
  const uint32_t seed =
      fixed != nullptr ? static_cast<uint32_t>(std::strtoul(fixed, nullptr, 10)) : std::random_device{}();
  std::printf("test data seed %u (KACHI_TEST_SEED=%u repeats this run)\n", seed, seed);
  return seed;
}

// Writes `count` tokens vocab * u^3 (u uniform in [0, 1) from mt19937(seed): the model can learn the unigram
// distribution in a few steps) to DIR/train_000000.bin, creating DIR; returns the glob "DIR/train_*.bin".
inline std::string WriteSkewedTokenShard(const std::string& dir, int64_t vocab, size_t count, uint32_t seed) {
  std::filesystem::create_directories(dir);
  std::mt19937 gen(seed);
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  std::vector<uint16_t> tokens(count);
  for (auto& t : tokens) t = static_cast<uint16_t>(vocab * std::pow(uniform(gen), 3.0));
  EXPECT_TRUE(WriteTokenShard(dir + "/train_000000.bin", tokens).ok());
  return dir + "/train_*.bin";
}

// Runs trainer.options().steps steps, appending each step's loss to `losses`; false (with a test failure naming
// `label` and the status) at the first failed step.
inline bool RunSteps(Trainer& trainer, std::vector<float>* losses, const std::string& label = "") {
  for (int64_t i = 0; i < trainer.options().steps; ++i) {
    absl::StatusOr<StepResult> step = trainer.Step();
    EXPECT_TRUE(step.ok()) << label << (label.empty() ? "" : ": ") << step.status();
    if (!step.ok()) return false;
    losses->push_back(step->loss);
  }
  return true;
}

// Rank 0 of `world` writes WriteSkewedTokenShard(20000 tokens, `seed`, or TestDataSeed() when none is given) into
// /tmp/PREFIX_<its pid>, and every rank learns that directory (a broadcast over `world`: collective). Returns the
// directory, or "" (with a test failure) when the broadcast fails.
inline std::string SharedSkewedTokenDir(Communicator& world, const std::string& prefix, int64_t vocab,
                                        std::optional<uint32_t> seed = std::nullopt) {
  char dir[256] = {0};  // 256 bytes = 64 int32 elements
  if (world.rank() == 0) {
    std::snprintf(dir, sizeof(dir), "/tmp/%s_%d", prefix.c_str(), static_cast<int>(getpid()));
    WriteSkewedTokenShard(dir, vocab, 20000, seed.has_value() ? *seed : TestDataSeed());
  }
  const absl::Status shared = world.Broadcast(dir, sizeof(dir) / 4, DType::kInt32, 0);
  EXPECT_TRUE(shared.ok()) << shared;
  return shared.ok() ? std::string(dir) : std::string();
}

// The global (row-major) tensor of `spec` holding this rank's elements of `params` (the flat buffer of `layout`)
// and zeros elsewhere; all zeros for a tensor-parallel-replicated tensor on tp ranks other than 0, so that a sum
// over the tensor-parallel group gives the whole tensor.
inline std::vector<float> GlobalPieceOf(const ParameterLayout& layout, const ParameterSpec& spec, const float* params) {
  std::vector<float> global(spec.global_rows * spec.global_cols, 0.0f);
  if (!(spec.tp_replicated && layout.tp_rank() != 0)) {
    for (int64_t i = 0; i < spec.size; ++i) global[spec.GlobalIndex(i)] = params[spec.offset + i];
  }
  return global;
}

// Every tensor of `layout` whole (row-major, by layout tensor index): this rank's GlobalPieceOf each, summed over the
// tensor-parallel group `tp` (collective; host memory, so an MPI communicator). A failed sum is a test failure.
inline std::vector<std::vector<float>> GlobalTensors(const ParameterLayout& layout, const float* params,
                                                     Communicator& tp) {
  std::vector<std::vector<float>> tensors;
  for (const ParameterSpec& spec : layout.tensors()) {
    std::vector<float> global = GlobalPieceOf(layout, spec, params);
    EXPECT_TRUE(tp.AllReduce(global.data(), global.data(), global.size(), DType::kFloat32, ReduceOp::kSum).ok());
    tensors.push_back(std::move(global));
  }
  return tensors;
}

// ||a - ref||_2 / ||ref||_2 over n elements, accumulated in double.
inline double RelativeL2(const float* a, const float* ref, size_t n) {
  double diff = 0, norm = 0;
  for (size_t i = 0; i < n; ++i) {
    const double d = double(a[i]) - ref[i];
    diff += d * d;
    norm += double(ref[i]) * ref[i];
  }
  return std::sqrt(diff / norm);
}

// The options the CPU equivalence, overlap and checkpoint tests share: `shape`, init seed 7, data seed 11, seq_len
// 16, global batch 8 in micro-batches of `micro_batch`, `steps` steps at lr 3e-3 (2 warm-up steps, cosine down to 0.1
// of it by `steps`), 2048-byte buckets, ZeRO-1 as given, no progress lines.
inline TrainOptions TinyTrainOptions(const GptShape& shape, const std::string& train_pattern, int64_t micro_batch,
                                     int64_t steps, bool zero1) {
  TrainOptions options;
  options.shape = shape;
  options.train_pattern = train_pattern;
  options.init_seed = 7, options.data_seed = 11;
  options.seq_len = 16, options.global_batch = 8, options.micro_batch = micro_batch;
  options.steps = steps;
  options.schedule = LrSchedule{3e-3, 2, steps, 0.1};
  options.zero1 = zero1;
  options.bucket_bytes = 2048;
  options.log_every = 0;
  return options;
}

// A trainer created from `options` on `grid` that has run its options.steps steps, their losses appended to
// `losses`; null (with a test failure) when it could not be created or a step failed.
inline std::unique_ptr<Trainer> TrainedTrainer(const TrainOptions& options, ProcessGrid* grid,
                                               std::vector<float>* losses) {
  absl::StatusOr<std::unique_ptr<Trainer>> trainer = Trainer::Create(options, grid);
  EXPECT_TRUE(trainer.ok()) << trainer.status();
  if (!trainer.ok() || !RunSteps(**trainer, losses)) return nullptr;
  return *std::move(trainer);
}

}  // namespace kachi::testing

#endif  // KACHI_TESTS_TRAIN_TRAIN_TEST_UTIL_H_
