// The short all-reduce sweep `kachi bench scaling` fits its alpha-beta links to, timed in the same job as the
// training points: on a sub-world of chosen job ranks (two ranks of one host; one rank on each of two hosts),
// fp32 all-reduces from min_bytes to max_bytes (x4 each), each size's median over `iters` calls (each call after a
// barrier, the slowest member's time).
#ifndef KACHI_BENCH_SCALING_COLLECTIVE_SWEEP_H_
#define KACHI_BENCH_SCALING_COLLECTIVE_SWEEP_H_

#include <mpi.h>

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "bench/scaling/alpha_beta.h"
#include "comm/communicator.h"

namespace kachi {

struct SweepOptions {
  uint64_t min_bytes = 4096;
  uint64_t max_bytes = 4 << 20;
  int iters = 5;
  int warmup = 2;
};

// Collective over `parent` (every job rank calls it with the same members, ascending job ranks). Returns the
// samples on rank 0 (empty elsewhere). Buffers are host memory (the MPI path the CPU trainer uses), or device memory
// when the backend wants it (NCCL, with the CUDA kernels).
absl::StatusOr<std::vector<CollectiveSample>> SweepAllReduce(Communicator& parent, MPI_Comm job,
                                                             const std::vector<int>& members,
                                                             const SweepOptions& options);

}  // namespace kachi

#endif  // KACHI_BENCH_SCALING_COLLECTIVE_SWEEP_H_
