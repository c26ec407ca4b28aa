// TrainLoader: deterministic training batches for data-parallel training, independent of the parallel layout.
//
// The windows of the token stream (token_stream.h) are visited epoch after epoch, each epoch in its own seeded
// permutation (window_order.h); concatenating the epochs' orders gives one infinite sequence of window positions.
// Optimizer step s consumes positions [s*G, (s+1)*G), G = global batch in sequences (a step near the end of an
// epoch continues into the next epoch's permutation).
//
// Layout rule: with dp ranks, micro-batch b and accumulation a = G / (dp*b), rank r's micro-step m of step s gets
// positions s*G + (m*dp + r)*b + [0, b). Listing micro-steps in order and, within each, ranks in order reproduces
// the step's G positions in order, so every (dp, b, a) with the same G trains on the same windows each step: this
// is what lets a run widen or shrink without changing its loss curve.
//
// The loader's position is its step; TrainLoaderState captures it and restores it exactly.
#ifndef KACHI_RUNTIME_DATA_TRAIN_LOADER_H_
#define KACHI_RUNTIME_DATA_TRAIN_LOADER_H_

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "runtime/data/token_batch.h"
#include "runtime/data/token_stream.h"

namespace kachi {

// How to read and split the training stream.
struct TrainLoaderOptions {
  // Glob of the training shards, e.g. "data/train_*.bin" (sorted, concatenated).
  std::string pattern;
  // Tokens per sequence (T).
  int64_t seq_len = 0;
  // Sequences per optimizer step over all ranks (G); a multiple of dp_size * micro_batch.
  int64_t global_batch = 0;
  // Sequences per micro-step on one rank (b).
  int64_t micro_batch = 0;
  // Data-parallel width and this rank's index in it.
  int dp_size = 1;
  int dp_rank = 0;
  // Seed of the epoch permutations.
  uint64_t seed = 0;
  // When > 0, every token is checked to be < vocab_size on open.
  int vocab_size = 0;
};

// A loader's position, saved in checkpoints. step is authoritative; epoch, global_batch and num_windows are
// recorded so that restoring against different data or a different global batch fails instead of drifting.
struct TrainLoaderState {
  // Optimizer steps already consumed.
  int64_t step = 0;
  // Epoch of the next step's first window.
  int64_t epoch = 0;
  // Seed of the epoch permutations.
  uint64_t seed = 0;
  // Global batch (sequences per step) the steps were counted in.
  int64_t global_batch = 0;
  // Windows per epoch of the data the state was taken on.
  int64_t num_windows = 0;
};

// Layout-independent deterministic training batches (see the file comment). Not thread-safe: it caches epoch
// permutations.
class TrainLoader {
 public:
  // Opens the shards and checks the options: InvalidArgument for bad sizes or a global batch that is not a
  // multiple of dp_size * micro_batch; FailedPrecondition when the data holds no window of seq_len + 1 tokens.
  static absl::StatusOr<TrainLoader> Open(const TrainLoaderOptions& options);

  // Micro-steps per optimizer step on each rank (a = G / (dp*b)).
  int accumulation_steps() const { return accumulation_steps_; }
  // Windows per epoch.
  int64_t num_windows() const { return num_windows_; }
  // Steps consumed so far (the next step to load).
  int64_t step() const { return step_; }
  // Epoch of the current step's first window.
  int64_t epoch() const { return step_ * options_.global_batch / num_windows_; }
  // The options the loader was opened with (seed updated by Restore).
  const TrainLoaderOptions& options() const { return options_; }

  // This rank's micro-batch `micro_step` (in [0, accumulation_steps())) of the current step.
  absl::StatusOr<TokenBatch> MicroBatch(int micro_step) const { return MicroBatchAt(step_, micro_step); }
  // This rank's micro-batch `micro_step` of any step (does not move the loader).
  absl::StatusOr<TokenBatch> MicroBatchAt(int64_t step, int micro_step) const;
  // The G window indices of a step, in layout order (all ranks, all micro-steps).
  std::vector<int64_t> StepWindows(int64_t step) const;
  // Moves to the next step.
  void Advance() { ++step_; }

  // The current position.
  TrainLoaderState state() const;
  // Continues from a saved position (adopting its seed). FailedPrecondition when it was taken with a different
  // global batch or on data with a different number of windows, or when its epoch disagrees with its step.
  absl::Status Restore(const TrainLoaderState& state);

 private:
  TrainLoader(TrainLoaderOptions options, TokenStream stream, int64_t num_windows);
  // The window at position `position` of the infinite epoch sequence.
  int64_t WindowAt(int64_t position) const;
  // The permutation of `epoch`, from a two-entry cache (a step spans at most two epochs when G <= windows).
  const std::vector<uint32_t>& Permutation(int64_t epoch) const;

  TrainLoaderOptions options_;
  TokenStream stream_;
  int64_t num_windows_;
  int accumulation_steps_;
  int64_t step_ = 0;

  struct CachedPermutation {
    int64_t epoch = -1;
    std::vector<uint32_t> order;
  };
  mutable std::array<CachedPermutation, 2> cache_;
  mutable size_t next_evict_ = 0;
};

}  // namespace kachi

#endif  // KACHI_RUNTIME_DATA_TRAIN_LOADER_H_
