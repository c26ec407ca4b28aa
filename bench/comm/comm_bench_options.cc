// Building and checking the settings of a `kachi bench comm` sweep (see comm_bench_options.h).
#include "bench/comm/comm_bench_options.h"

#include "absl/strings/str_cat.h"

namespace kachi {

std::vector<size_t> SweepSizes(const CommBenchOptions& options) {
  std::vector<size_t> sizes;
  for (size_t bytes = options.min_bytes; bytes <= options.max_bytes; bytes *= options.step_factor) {
    sizes.push_back(bytes);
    if (bytes > options.max_bytes / options.step_factor) break;  // next step would pass max (or overflow)
  }
  return sizes;
}

absl::StatusOr<CollectiveKind> ParseBenchCollective(absl::string_view name) {
  for (CollectiveKind kind : {CollectiveKind::kAllReduce, CollectiveKind::kReduceScatter,
                              CollectiveKind::kAllGather, CollectiveKind::kBroadcast}) {
    if (name == CollectiveName(kind)) return kind;
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown collective '", name,
                                                 "' (expected all_reduce, reduce_scatter, all_gather or broadcast)"));
}

absl::StatusOr<ReduceOp> ParseReduceOp(absl::string_view name) {
  for (ReduceOp op : {ReduceOp::kSum, ReduceOp::kAvg, ReduceOp::kMax}) {
    if (name == ReduceOpName(op)) return op;
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown reduction '", name, "' (expected sum, avg or max)"));
}

absl::Status ValidateCommBenchOptions(const CommBenchOptions& options) {
  if (options.collectives.empty()) return absl::InvalidArgumentError("no collective to measure");
  if (options.dtypes.empty()) return absl::InvalidArgumentError("no dtype to measure");
  if (options.min_bytes == 0 || options.min_bytes > options.max_bytes) {
    return absl::InvalidArgumentError(absl::StrCat("min_bytes ", options.min_bytes, " and max_bytes ",
                                                   options.max_bytes, ": expected 0 < min_bytes <= max_bytes"));
  }
  if (options.step_factor < 2) {
    return absl::InvalidArgumentError(absl::StrCat("step_factor ", options.step_factor, ": expected >= 2"));
  }
  if (options.warmup_iters < 0) {
    return absl::InvalidArgumentError(absl::StrCat("warmup_iters ", options.warmup_iters, ": expected >= 0"));
  }
  if (options.iters < 1) return absl::InvalidArgumentError(absl::StrCat("iters ", options.iters, ": expected >= 1"));
  if (options.repeats < 1) {
    return absl::InvalidArgumentError(absl::StrCat("repeats ", options.repeats, ": expected >= 1"));
  }
  return absl::OkStatus();
}

absl::StatusOr<CommBenchOptions> CommBenchOptionsFromConfig(const config::CommBenchConfig& section,
                                                            absl::string_view op, int repeats) {
  CommBenchOptions options;
  for (const std::string& name : section.collectives()) {
    absl::StatusOr<CollectiveKind> kind = ParseBenchCollective(name);
    if (!kind.ok()) return absl::InvalidArgumentError(absl::StrCat("bench.comm.collectives: ", kind.status().message()));
    options.collectives.push_back(*kind);
  }
  if (options.collectives.empty()) {
    options.collectives = {CollectiveKind::kAllReduce, CollectiveKind::kReduceScatter, CollectiveKind::kAllGather,
                           CollectiveKind::kBroadcast};
  }
  if (section.dtypes_size() > 0) options.dtypes.clear();
  for (const std::string& name : section.dtypes()) {
    absl::StatusOr<DType> dtype = ParseDType(name);
    if (!dtype.ok()) return absl::InvalidArgumentError(absl::StrCat("bench.comm.dtypes: ", dtype.status().message()));
    options.dtypes.push_back(*dtype);
  }
  absl::StatusOr<ReduceOp> reduce_op = ParseReduceOp(op);
  if (!reduce_op.ok()) return reduce_op.status();
  options.op = *reduce_op;
  options.min_bytes = section.min_bytes();
  options.max_bytes = section.max_bytes();
  options.step_factor = section.step_factor();
  options.warmup_iters = static_cast<int>(section.warmup_iters());
  options.iters = static_cast<int>(section.iters());
  options.repeats = repeats;
  options.check = section.check();
  absl::Status valid = ValidateCommBenchOptions(options);
  if (!valid.ok()) return valid;
  return options;
}

}  // namespace kachi
