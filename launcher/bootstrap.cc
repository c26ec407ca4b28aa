// Session start-up and shutdown (see bootstrap.h).
#include "launcher/bootstrap.h"

#include <mpi.h>

#include <cstdio>
#include <string>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "comm/mpi_communicator.h"
#include "comm/nccl_communicator.h"
#include "kernels/base/status_macros.h"
#include "runtime/config/device_binding.h"
#include "launcher/flags.h"
#include "launcher/world_check.h"

#ifdef KACHI_WITH_CUDA
#include <cuda_runtime.h>
#endif

namespace kachi {
namespace {

// Everything bootstrap decides after MPI starts, before any backend is created (pure apart from MeasureMpiWorld).
absl::Status PlaceRank(const config::KachiConfig& config, const BootstrapInputs& inputs, const WorldInfo& discovered,
                       Session* session) {
  KACHI_ASSIGN_OR_RETURN(auto mpi, MeasureMpiWorld());
  KACHI_ASSIGN_OR_RETURN(auto world, ReconcileWithMpi(discovered, mpi));
  session->world = world;
  KACHI_ASSIGN_OR_RETURN(auto device, ChooseDevice(world.local_rank, world.local_size, inputs.device_count,
                                                   config.launcher().allow_device_sharing()));
  session->device = device;
  KACHI_ASSIGN_OR_RETURN(auto backend, ChooseBackend(config.comm().backend(), device, NcclAvailable(),
                                                     DevicesShared(world.local_size, inputs.device_count)));
  session->backend = backend;
#ifdef KACHI_WITH_CUDA
  if (device >= 0) {
    if (cudaError_t err = cudaSetDevice(device); err != cudaSuccess) {
      return absl::InternalError(absl::StrCat("cudaSetDevice(", device, ") failed: ", cudaGetErrorString(err)));
    }
  }
#endif
  return absl::OkStatus();
}

// Collective: OK only if `local` is OK on every rank. A rank that was fine learns the lowest failing rank.
absl::Status AgreeOnStatus(const absl::Status& local) {
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  int failed_rank = local.ok() ? INT32_MAX : rank;
  int first_failed = INT32_MAX;
  MPI_Allreduce(&failed_rank, &first_failed, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  if (!local.ok()) return absl::Status(local.code(), absl::StrCat("rank ", rank, ": ", local.message()));
  if (first_failed == INT32_MAX) return absl::OkStatus();
  return absl::AbortedError(absl::StrCat("rank ", rank, ": start-up stopped because rank ", first_failed,
                                         " failed (see its message)"));
}

}  // namespace

Session::~Session() {
  world_comm.reset();
  FinalizeMpi();
}

BootstrapInputs ProcessInputs() { return {ProcessEnvironment(), HostName(), VisibleDeviceCount()}; }

absl::StatusOr<std::unique_ptr<Session>> Bootstrap(const config::KachiConfig& config,
                                                   const BootstrapInputs& inputs) {
  // Read the launcher's variables before MPI_Init, which may add its own.
  KACHI_ASSIGN_OR_RETURN(auto discovered, DiscoverWorld(inputs.env, inputs.host_name));
  KACHI_RETURN_IF_ERROR(InitMpi(nullptr, nullptr));

  auto session = std::make_unique<Session>();  // from here on, its destructor finalizes MPI on error paths too
  session->config = config;
  KACHI_RETURN_IF_ERROR(AgreeOnStatus(PlaceRank(config, inputs, discovered, session.get())));

  CommOptions options;
  options.deadline = absl::Seconds(config.comm().deadline_s());
  options.name = "world";
  absl::StatusOr<std::unique_ptr<Communicator>> comm =
      session->backend == "nccl" ? CreateNcclCommunicator(MPI_COMM_WORLD, session->device, options)
                                 : CreateMpiCommunicator(MPI_COMM_WORLD, options);
  if (!comm.ok()) {
    return absl::Status(comm.status().code(), absl::StrCat("rank ", session->world.rank, ": creating the ",
                                                           session->backend, " world communicator failed: ",
                                                           comm.status().message()));
  }
  session->world_comm = *std::move(comm);
  return session;
}

absl::StatusOr<std::unique_ptr<Session>> BootstrapFromFlags() {
  auto config = ConfigFromFlags();
  if (!config.ok()) return MarkConfigError(config.status());
  return Bootstrap(*config);
}

absl::Status MarkConfigError(absl::Status status) {
  status.SetPayload(kConfigErrorPayload, absl::Cord("1"));
  return status;
}

void PrintBootstrapError(const char* command, const absl::Status& status) {
  if (status.GetPayload(kConfigErrorPayload).has_value()) {
    absl::StatusOr<WorldInfo> world = DiscoverWorld(ProcessEnvironment(), HostName());
    // Another rank must not end the job before rank 0 has printed (mpirun aborts the job at the first non-zero
    // exit, and rank 0 would die with its message unprinted): it waits for the job to be ended by rank 0's exit, and
    // prints itself only if that has not happened (its error was not rank 0's: a file missing on its host only).
    if (world.ok() && world->rank != 0) absl::SleepFor(kSilentRankGrace);
  }
  std::fprintf(stderr, "%s: %s\n", command, std::string(status.message()).c_str());
}

}  // namespace kachi
