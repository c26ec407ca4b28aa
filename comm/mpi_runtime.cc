// MPI start-up and shutdown for kachi (InitMpi / FinalizeMpi of mpi_communicator.h): MPI_THREAD_MULTIPLE so the
// watchdog thread may query peers and abort, and the peer-status service stopped before MPI_Finalize.
#include <mpi.h>

#include <atomic>

#include "absl/strings/str_cat.h"
#include "comm/mpi_communicator.h"
#include "comm/mpi_peer_status.h"

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
  return CheckThreadLevel(provided);
}

void FinalizeMpi() {
  if (!g_initialized_by_kachi.exchange(false)) return;
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (finalized) return;
  ShutdownPeerStatus();
  MPI_Finalize();
}

}  // namespace kachi
