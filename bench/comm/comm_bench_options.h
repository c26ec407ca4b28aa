// What one `kachi bench comm` run measures: collectives, element types, the message-size sweep, repetition counts.
// Built from the bench.comm section of the run configuration (runtime/proto/config.proto) plus the bench flags.
#ifndef KACHI_BENCH_COMM_COMM_BENCH_OPTIONS_H_
#define KACHI_BENCH_COMM_COMM_BENCH_OPTIONS_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "comm/communicator.h"
#include "comm/dtype.h"
#include "runtime/proto/config.pb.h"

namespace kachi {

// Settings of one sweep.
struct CommBenchOptions {
  // Collectives to measure, in order (all_reduce, reduce_scatter, all_gather, broadcast by default).
  std::vector<CollectiveKind> collectives;
  // Element types; one table per (collective, dtype).
  std::vector<DType> dtypes = {DType::kFloat32};
  // Reduction of all_reduce and reduce_scatter.
  ReduceOp op = ReduceOp::kSum;
  // Sweep: min_bytes, min_bytes * step_factor, ... while <= max_bytes. A size is the bytes of the largest buffer
  // of the call (nccl-tests convention: all_reduce/broadcast the buffer, reduce_scatter the input, all_gather the
  // output), rounded down to whole elements per rank.
  size_t min_bytes = 1024;
  size_t max_bytes = 16 << 20;
  size_t step_factor = 4;
  // Untimed calls of kachi and of the raw peer before each size.
  int warmup_iters = 3;
  // Calls per timed sample.
  int iters = 10;
  // Timed samples of kachi and of the raw peer per size (interleaved); the median is reported.
  int repeats = 15;
  // Checks kachi's and the raw peer's results against a host reference once per size.
  bool check = true;
};

// The sizes of the sweep, in bytes.
std::vector<size_t> SweepSizes(const CommBenchOptions& options);

// Options from the bench.comm config section plus the settings the section lacks (`op` name, `repeats`).
// Errors name the field and the value found.
absl::StatusOr<CommBenchOptions> CommBenchOptionsFromConfig(const config::CommBenchConfig& section,
                                                            absl::string_view op, int repeats);

// InvalidArgument when a setting is out of range (sizes, factor, counts), naming it.
absl::Status ValidateCommBenchOptions(const CommBenchOptions& options);

// Parses a collective name ("all_reduce", "reduce_scatter", "all_gather", "broadcast").
absl::StatusOr<CollectiveKind> ParseBenchCollective(absl::string_view name);
// Parses a reduction name ("sum", "avg", "max").
absl::StatusOr<ReduceOp> ParseReduceOp(absl::string_view name);

}  // namespace kachi

#endif  // KACHI_BENCH_COMM_COMM_BENCH_OPTIONS_H_
