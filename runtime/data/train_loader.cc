// TrainLoader (see train_loader.h).
#include "runtime/data/train_loader.h"

#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "runtime/data/rank_split.h"
#include "runtime/data/window_order.h"

namespace kachi {
namespace {

absl::Status ValidateOptions(const TrainLoaderOptions& options) {
  if (absl::Status split = ValidateRankSplit(options.seq_len, options.micro_batch, options.dp_size, options.dp_rank);
      !split.ok()) {
    return split;
  }
  const int64_t per_micro_step = options.dp_size * options.micro_batch;
  if (options.global_batch <= 0 || options.global_batch % per_micro_step != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "global_batch is ", options.global_batch, ", expected a positive multiple of dp_size * micro_batch = ",
        options.dp_size, " * ", options.micro_batch, " = ", per_micro_step));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<TrainLoader> TrainLoader::Open(const TrainLoaderOptions& options) {
  if (absl::Status status = ValidateOptions(options); !status.ok()) return status;
  absl::StatusOr<TokenStream> stream = TokenStream::Open(options.pattern, options.vocab_size);
  if (!stream.ok()) return stream.status();
  const int64_t num_windows = stream->NumWindows(options.seq_len);
  if (num_windows == 0) {
    return absl::FailedPreconditionError(absl::StrCat("training shards ", options.pattern, " hold ",
                                                      stream->num_tokens(), " tokens, fewer than one window of ",
                                                      options.seq_len + 1, " (seq_len + 1)"));
  }
  if (num_windows > std::numeric_limits<uint32_t>::max()) {
    return absl::InvalidArgumentError(absl::StrCat("training shards ", options.pattern, " hold ", num_windows,
                                                   " windows, more than the 2^32 - 1 an epoch order supports"));
  }
  return TrainLoader(options, *std::move(stream), num_windows);
}

TrainLoader::TrainLoader(TrainLoaderOptions options, TokenStream stream, int64_t num_windows)
    : options_(std::move(options)),
      stream_(std::move(stream)),
      num_windows_(num_windows),
      accumulation_steps_(
          static_cast<int>(options_.global_batch / (options_.dp_size * options_.micro_batch))) {}

absl::StatusOr<TokenBatch> TrainLoader::MicroBatchAt(int64_t step, int micro_step) const {
  if (step < 0 || micro_step < 0 || micro_step >= accumulation_steps_) {
    return absl::OutOfRangeError(absl::StrCat("micro-batch (step ", step, ", micro_step ", micro_step,
                                              ") requested, expected step >= 0 and micro_step in [0, ",
                                              accumulation_steps_, ")"));
  }
  const int64_t first = step * options_.global_batch +
                        (static_cast<int64_t>(micro_step) * options_.dp_size + options_.dp_rank) *
                            options_.micro_batch;
  TokenBatch batch;
  batch.seq_len = options_.seq_len;
  batch.inputs.reserve(static_cast<size_t>(options_.micro_batch * options_.seq_len));
  batch.targets.reserve(static_cast<size_t>(options_.micro_batch * options_.seq_len));
  for (int64_t i = 0; i < options_.micro_batch; ++i) {
    stream_.AppendWindow(WindowAt(first + i), options_.seq_len, batch);
  }
  return batch;
}

std::vector<int64_t> TrainLoader::StepWindows(int64_t step) const {
  std::vector<int64_t> windows(static_cast<size_t>(options_.global_batch));
  for (int64_t i = 0; i < options_.global_batch; ++i) windows[i] = WindowAt(step * options_.global_batch + i);
  return windows;
}

TrainLoaderState TrainLoader::state() const {
  TrainLoaderState state;
  state.step = step_;
  state.epoch = epoch();
  state.seed = options_.seed;
  state.global_batch = options_.global_batch;
  state.num_windows = num_windows_;
  return state;
}

absl::Status TrainLoader::Restore(const TrainLoaderState& state) {
  if (state.global_batch != options_.global_batch) {
    return absl::FailedPreconditionError(absl::StrCat("loader state counts steps of global batch ",
                                                      state.global_batch, ", expected this run's ",
                                                      options_.global_batch));
  }
  if (state.num_windows != num_windows_) {
    return absl::FailedPreconditionError(absl::StrCat(
        "loader state was taken on data with ", state.num_windows, " windows per epoch, but ", options_.pattern,
        " at seq_len ", options_.seq_len, " has ", num_windows_, " (different data or sequence length)"));
  }
  const int64_t expected_epoch = state.step < 0 ? -1 : state.step * options_.global_batch / num_windows_;
  if (state.epoch != expected_epoch) {
    return absl::FailedPreconditionError(absl::StrCat("loader state says step ", state.step, " is in epoch ",
                                                      state.epoch, ", expected epoch ", expected_epoch));
  }
  step_ = state.step;
  options_.seed = state.seed;
  cache_ = {};
  return absl::OkStatus();
}

int64_t TrainLoader::WindowAt(int64_t position) const {
  const int64_t epoch = position / num_windows_;
  return Permutation(epoch)[static_cast<size_t>(position % num_windows_)];
}

const std::vector<uint32_t>& TrainLoader::Permutation(int64_t epoch) const {
  for (const CachedPermutation& entry : cache_) {
    if (entry.epoch == epoch) return entry.order;
  }
  CachedPermutation& slot = cache_[next_evict_];
  next_evict_ = (next_evict_ + 1) % cache_.size();
  slot.epoch = epoch;
  slot.order = EpochPermutation(options_.seed, epoch, num_windows_);
  return slot.order;
}

}  // namespace kachi
