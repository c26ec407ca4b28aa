// CPU-only builds: the NCCL backend is absent, so NcclAvailable() is false and the factory reports Unavailable.
#include "absl/status/status.h"
#include "comm/nccl_communicator.h"

namespace kachi {

bool NcclAvailable() { return false; }

absl::StatusOr<std::unique_ptr<Communicator>> CreateNcclCommunicator(MPI_Comm bootstrap, int device,
                                                                     CommOptions options) {
  return absl::UnavailableError(
      "the NCCL backend is not part of this build (kachi was configured without CUDA/NCCL); use backend 'mpi' or "
      "rebuild with nvcc and NCCL installed");
}

}  // namespace kachi
