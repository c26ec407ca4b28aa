// `kachi bench comm [COLLECTIVE...]`: the collective bandwidth sweep of bench/comm/ on the world communicator that
// the bootstrap starts (MPI or NCCL per --backend / comm.backend), printed by rank 0 beside the raw MPI or NCCL
// call. Sweep settings come from the config section bench.comm (--set bench.comm.max_bytes=67108864 ...); the
// reduction and the repeat count, which that section does not hold, from --bench_op and --bench_repeats.
// Positional collective names restrict the sweep to those collectives.
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "bench/comm/comm_bench.h"
#include "bench/comm/comm_bench_options.h"
#include "launcher/bootstrap.h"
#include "launcher/commands.h"

ABSL_FLAG(std::string, bench_op, "sum", "`kachi bench comm`: reduction of all_reduce and reduce_scatter (sum, avg, max)");
ABSL_FLAG(int32_t, bench_repeats, 15,
          "`kachi bench comm`: timed samples per size of kachi and of the raw call (interleaved; the median is shown)");

namespace kachi {
namespace {

// Prints usage to stderr and returns exit code 2.
int BenchUsage(const std::string& problem) {
  std::fprintf(stderr,
               "kachi bench: %s\n"
               "usage: kachi bench comm [all_reduce|reduce_scatter|all_gather|broadcast ...] [--backend=mpi|nccl|auto]\n"
               "       [--bench_op=sum|avg|max] [--bench_repeats=N] [--set bench.comm.FIELD=VALUE ...]\n"
               "       fields: collectives, dtypes, min_bytes, max_bytes, step_factor, warmup_iters, iters, check\n",
               problem.c_str());
  return 2;
}

// `kachi bench comm` with the collectives named in `names` (all configured ones when empty).
int CommBench(const std::vector<std::string>& names) {
  auto session = BootstrapFromFlags();
  if (!session.ok()) {
    std::fprintf(stderr, "kachi bench comm: %s\n", std::string(session.status().message()).c_str());
    return 1;
  }
  absl::StatusOr<CommBenchOptions> options = CommBenchOptionsFromConfig(
      (*session)->config.bench().comm(), absl::GetFlag(FLAGS_bench_op), absl::GetFlag(FLAGS_bench_repeats));
  if (!options.ok()) return BenchUsage(std::string(options.status().message()));
  if (!names.empty()) {
    options->collectives.clear();
    for (const std::string& name : names) {
      absl::StatusOr<CollectiveKind> kind = ParseBenchCollective(name);
      if (!kind.ok()) return BenchUsage(std::string(kind.status().message()));
      options->collectives.push_back(*kind);
    }
  }
  const absl::Status status = RunCommBench(*(*session)->world_comm, MPI_COMM_WORLD, *options, std::cout);
  if (!status.ok()) {
    std::fprintf(stderr, "kachi bench comm: rank %d: %s\n", (*session)->world.rank, status.ToString().c_str());
    return 1;
  }
  return 0;
}

}  // namespace

int BenchCommand(const std::vector<std::string>& args) {
  if (args.empty()) return BenchUsage("missing benchmark name (available: comm)");
  if (args.front() != "comm") return BenchUsage("unknown benchmark '" + args.front() + "' (available: comm)");
  return CommBench(std::vector<std::string>(args.begin() + 1, args.end()));
}

}  // namespace kachi
