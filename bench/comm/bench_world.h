// Starts MPI and the world communicator for a `kachi bench comm` job, until the launcher's bootstrap provides
// them (launcher/bootstrap.h): backend "mpi", "nccl" or "auto" (NCCL when the build has it and every rank sees a
// CUDA device; NCCL ranks use device local_rank % device count).
#ifndef KACHI_BENCH_COMM_BENCH_WORLD_H_
#define KACHI_BENCH_COMM_BENCH_WORLD_H_

#include <memory>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "bench/comm/comm_bench_options.h"
#include "comm/communicator.h"

namespace kachi {

// A world communicator over MPI_COMM_WORLD (MPI must be initialized). Collective over MPI_COMM_WORLD.
absl::StatusOr<std::unique_ptr<Communicator>> CreateBenchWorld(absl::string_view backend, CommOptions options);

// A whole benchmark job: InitMpi, CreateBenchWorld, RunCommBench printing to stdout, teardown, FinalizeMpi.
// Returns the process exit code (0 success, 1 failure; errors go to stderr with the rank).
int RunCommBenchJob(absl::string_view backend, const CommBenchOptions& options, absl::Duration deadline);

}  // namespace kachi

#endif  // KACHI_BENCH_COMM_BENCH_WORLD_H_
