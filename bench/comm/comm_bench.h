// `kachi bench comm`'s harness: for each collective, dtype and size, times kachi's call and the bare backend call
// (raw MPI or raw NCCL) on the same buffers, and prints an nccl-tests style table on rank 0. Each time is the
// per-call time of the slowest rank; kachi and raw samples alternate in order (kachi first on even repeats, raw
// first on odd ones) so drift hits both alike, and the table shows the median over repeats.
#ifndef KACHI_BENCH_COMM_COMM_BENCH_H_
#define KACHI_BENCH_COMM_COMM_BENCH_H_

#include <mpi.h>

#include <ostream>

#include "absl/status/status.h"
#include "bench/comm/comm_bench_options.h"
#include "comm/communicator.h"

namespace kachi {

// Runs the sweep on `world` (MPI or NCCL backend); `control` is an MPI communicator over the same ranks, used for
// timing barriers and reductions. Rank 0 writes the table to `out`. Collective: every rank of `world` calls it.
// Returns an error when a call fails on any rank or a result check fails (after printing what was measured).
absl::Status RunCommBench(Communicator& world, MPI_Comm control, const CommBenchOptions& options, std::ostream& out);

}  // namespace kachi

#endif  // KACHI_BENCH_COMM_COMM_BENCH_H_
