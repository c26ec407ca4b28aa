// EvalLoader: a fixed validation set — the first K windows of the validation stream, in order — split across
// data-parallel ranks. Batch j of rank r holds windows [(j*dp + r)*b, (j*dp + r + 1)*b), so the K windows are the
// same for every layout with dp*b dividing K, and summing per-rank losses over all batches gives the same total.
#ifndef KACHI_RUNTIME_DATA_EVAL_LOADER_H_
#define KACHI_RUNTIME_DATA_EVAL_LOADER_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "runtime/data/token_batch.h"
#include "runtime/data/token_stream.h"

namespace kachi {

// How to read and split the validation stream.
struct EvalLoaderOptions {
  // Glob of the validation shards, e.g. "data/val_*.bin".
  std::string pattern;
  // Tokens per sequence (T).
  int64_t seq_len = 0;
  // Windows in the evaluation set (K); a multiple of dp_size * micro_batch and at most the windows available.
  int64_t num_windows = 0;
  // Sequences per batch on one rank (b).
  int64_t micro_batch = 0;
  // Data-parallel width and this rank's index in it.
  int dp_size = 1;
  int dp_rank = 0;
  // When > 0, every token is checked to be < vocab_size on open.
  int vocab_size = 0;
};

// The fixed validation windows of one rank.
class EvalLoader {
 public:
  // Opens the shards and checks the options (InvalidArgument for bad sizes or K not a multiple of dp*b;
  // FailedPrecondition when the data holds fewer than K windows).
  static absl::StatusOr<EvalLoader> Open(const EvalLoaderOptions& options);

  // Batches per rank in one evaluation (K / (dp*b)).
  int64_t num_batches() const { return num_batches_; }
  // This rank's batch `index` in [0, num_batches()).
  absl::StatusOr<TokenBatch> Batch(int64_t index) const;

 private:
  EvalLoader(EvalLoaderOptions options, TokenStream stream);

  EvalLoaderOptions options_;
  TokenStream stream_;
  int64_t num_batches_;
};

}  // namespace kachi

#endif  // KACHI_RUNTIME_DATA_EVAL_LOADER_H_
