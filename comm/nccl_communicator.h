// NCCL backend of Communicator (CUDA builds only): device buffers, its own CUDA stream, a non-blocking NCCL
// communicator whose asynchronous errors the watchdog polls, and ncclCommAbort when the job is ended. The NCCL
// unique id is exchanged over MPI.
// Ordering: collectives run on the communicator's own non-blocking stream, which is not ordered after the caller's
// streams. Inputs must be complete when a collective is called (synchronize the stream or device that wrote them),
// or ordered before it by WaitEvent on an event recorded after them; outputs are ready after Synchronize().
#ifndef KACHI_COMM_NCCL_COMMUNICATOR_H_
#define KACHI_COMM_NCCL_COMMUNICATOR_H_

#include <mpi.h>

#include <memory>

#include "absl/status/statusor.h"
#include "comm/communicator.h"

namespace kachi {

// True when this build has the NCCL backend.
bool NcclAvailable();

// A NCCL communicator over the ranks of `bootstrap` (an MPI communicator used only to exchange the unique id),
// on CUDA device `device`. Returns Unavailable in CPU-only builds or when no device can be used.
absl::StatusOr<std::unique_ptr<Communicator>> CreateNcclCommunicator(MPI_Comm bootstrap, int device,
                                                                     CommOptions options);

}  // namespace kachi

#endif  // KACHI_COMM_NCCL_COMMUNICATOR_H_
