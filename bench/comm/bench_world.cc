// World communicator and whole-job driver of `kachi bench comm` (see bench_world.h).
#include "bench/comm/bench_world.h"

#include <mpi.h>

#include <cstdio>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "bench/comm/comm_bench.h"
#include "comm/mpi_communicator.h"
#include "comm/nccl_communicator.h"
#include "runtime/config/device_binding.h"

namespace kachi {
namespace {

// This rank's index among the ranks on its node.
int LocalRank() {
  MPI_Comm node = MPI_COMM_NULL;
  MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node);
  int local = 0;
  MPI_Comm_rank(node, &local);
  MPI_Comm_free(&node);
  return local;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Communicator>> CreateBenchWorld(absl::string_view backend, CommOptions options) {
  if (backend != "mpi" && backend != "nccl" && backend != "auto") {
    return absl::InvalidArgumentError(absl::StrCat("backend '", backend, "': expected mpi, nccl or auto"));
  }
  const int devices = VisibleDeviceCount();
  int local_nccl_ready = (NcclAvailable() && devices > 0) ? 1 : 0;
  int all_nccl_ready = 0;
  MPI_Allreduce(&local_nccl_ready, &all_nccl_ready, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  const bool use_nccl = backend == "nccl" || (backend == "auto" && all_nccl_ready == 1);
  if (!use_nccl) return CreateMpiCommunicator(MPI_COMM_WORLD, std::move(options));
  const int device = devices > 0 ? LocalRank() % devices : 0;
  return CreateNcclCommunicator(MPI_COMM_WORLD, device, std::move(options));
}

int RunCommBenchJob(absl::string_view backend, const CommBenchOptions& options, absl::Duration deadline) {
  absl::Status status = InitMpi(nullptr, nullptr);
  if (!status.ok()) {
    std::fprintf(stderr, "kachi bench comm: %s\n", std::string(status.message()).c_str());
    return 1;
  }
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  CommOptions comm_options;
  comm_options.deadline = deadline;
  comm_options.name = "world";
  int exit_code = 0;
  {
    absl::StatusOr<std::unique_ptr<Communicator>> world = CreateBenchWorld(backend, comm_options);
    status = world.status();
    if (status.ok()) status = RunCommBench(**world, MPI_COMM_WORLD, options, std::cout);
    if (!status.ok()) {
      std::fprintf(stderr, "kachi bench comm: rank %d: %s\n", rank, status.ToString().c_str());
      exit_code = 1;
    }
  }
  FinalizeMpi();
  return exit_code;
}

}  // namespace kachi
