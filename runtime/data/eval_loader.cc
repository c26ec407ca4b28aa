// EvalLoader (see eval_loader.h).
#include "runtime/data/eval_loader.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "runtime/data/rank_split.h"

namespace kachi {
namespace {

absl::Status ValidateOptions(const EvalLoaderOptions& options) {
  if (absl::Status split = ValidateRankSplit(options.seq_len, options.micro_batch, options.dp_size, options.dp_rank);
      !split.ok()) {
    return split;
  }
  const int64_t per_batch = options.dp_size * options.micro_batch;
  if (options.num_windows <= 0 || options.num_windows % per_batch != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "eval num_windows is ", options.num_windows, ", expected a positive multiple of dp_size * micro_batch = ",
        options.dp_size, " * ", options.micro_batch, " = ", per_batch));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<EvalLoader> EvalLoader::Open(const EvalLoaderOptions& options) {
  if (absl::Status status = ValidateOptions(options); !status.ok()) return status;
  absl::StatusOr<TokenStream> stream = TokenStream::Open(options.pattern, options.vocab_size);
  if (!stream.ok()) return stream.status();
  const int64_t available = stream->NumWindows(options.seq_len);
  if (available < options.num_windows) {
    return absl::FailedPreconditionError(absl::StrCat(
        "validation shards ", options.pattern, " hold ", available, " windows of seq_len ", options.seq_len,
        ", fewer than the ", options.num_windows, " requested for evaluation"));
  }
  return EvalLoader(options, *std::move(stream));
}

EvalLoader::EvalLoader(EvalLoaderOptions options, TokenStream stream)
    : options_(std::move(options)),
      stream_(std::move(stream)),
      num_batches_(options_.num_windows / (options_.dp_size * options_.micro_batch)) {}

absl::StatusOr<TokenBatch> EvalLoader::Batch(int64_t index) const {
  if (index < 0 || index >= num_batches_) {
    return absl::OutOfRangeError(
        absl::StrCat("eval batch ", index, " requested, expected an index in [0, ", num_batches_, ")"));
  }
  const int64_t first = (index * options_.dp_size + options_.dp_rank) * options_.micro_batch;
  TokenBatch batch;
  batch.seq_len = options_.seq_len;
  for (int64_t i = 0; i < options_.micro_batch; ++i) stream_.AppendWindow(first + i, options_.seq_len, batch);
  return batch;
}

}  // namespace kachi
