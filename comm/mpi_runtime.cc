// MPI start-up and shutdown for kachi (InitMpi / FinalizeMpi of mpi_communicator.h): MPI_THREAD_MULTIPLE so the
// watchdog thread may query peers and abort, and the peer-status service stopped before MPI_Finalize.
#include <mpi.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "comm/mpi_communicator.h"
#include "comm/failure_watch.h"
#include "comm/mpi_peer_status.h"
#include "comm/side_channel.h"
#include "kernels/base/status_macros.h"

namespace kachi {
namespace {

// True when InitMpi called MPI_Init_thread (so FinalizeMpi owns the matching MPI_Finalize).
std::atomic<bool> g_initialized_by_kachi{false};

absl::string_view ThreadLevelName(int level) {
  switch (level) {
    case MPI_THREAD_SINGLE: return "MPI_THREAD_SINGLE";
    case MPI_THREAD_FUNNELED: return "MPI_THREAD_FUNNELED";
    case MPI_THREAD_SERIALIZED: return "MPI_THREAD_SERIALIZED";
    case MPI_THREAD_MULTIPLE: return "MPI_THREAD_MULTIPLE";
  }
  return "an unknown thread level";
}

absl::Status CheckThreadLevel(int provided) {
  if (provided >= MPI_THREAD_MULTIPLE) return absl::OkStatus();
  return absl::FailedPreconditionError(
      absl::StrCat("MPI provides ", ThreadLevelName(provided),
                   " but kachi needs MPI_THREAD_MULTIPLE (the watchdog thread talks to peers); use an MPI library "
                   "built with thread support"));
}

}  // namespace

absl::Status InitMpi(int* argc, char*** argv) {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (finalized) return absl::FailedPreconditionError("InitMpi: MPI was already finalized");
  int initialized = 0;
  MPI_Initialized(&initialized);
  int provided = MPI_THREAD_SINGLE;
  if (initialized) {
    MPI_Query_thread(&provided);
    return CheckThreadLevel(provided);
  }
  if (MPI_Init_thread(argc, argv, MPI_THREAD_MULTIPLE, &provided) != MPI_SUCCESS) {
    return absl::InternalError("MPI_Init_thread failed");
  }
  g_initialized_by_kachi = true;
  KACHI_RETURN_IF_ERROR(CheckThreadLevel(provided));
  // The side channel (failure messages in world ranks and hosts, lost peers); KACHI_SIDE_CHANNEL=0 turns it off.
  const char* side = std::getenv("KACHI_SIDE_CHANNEL");
  if (side == nullptr || std::strcmp(side, "0") != 0) {
    if (absl::Status status = StartFailureWatch(MPI_COMM_WORLD); !status.ok()) {
      std::fprintf(stderr, "kachi: warning: running without the failure side channel: %s\n",
                   std::string(status.message()).c_str());
    }
  }
  return absl::OkStatus();
}

void FinalizeMpi() {
  if (!g_initialized_by_kachi.exchange(false)) return;
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (finalized) return;
  StopSideChannel();
  ShutdownPeerStatus();
  MPI_Finalize();
}

}  // namespace kachi
