// MPI backend of Communicator: host buffers directly; device buffers (CUDA builds) staged through pinned host
// memory. bf16/fp16 reductions use kachi's own MPI reduction ops that accumulate in fp32 per element pair.
// (bf16/fp16 averages are summed in fp32 and rounded once; the exact guarantees are in mpi_host_collectives.h.)
// Also owns MPI start-up (MPI_THREAD_MULTIPLE, so the watchdog thread may query peers and abort).
#ifndef KACHI_COMM_MPI_COMMUNICATOR_H_
#define KACHI_COMM_MPI_COMMUNICATOR_H_

#include <mpi.h>

#include <memory>

#include "absl/status/statusor.h"
#include "comm/communicator.h"

namespace kachi {

// Initializes MPI with MPI_THREAD_MULTIPLE (idempotent). Errors if the library cannot provide it.
absl::Status InitMpi(int* argc, char*** argv);
// Finalizes MPI if InitMpi initialized it (idempotent; safe after errors).
void FinalizeMpi();

// A communicator over a duplicate of `comm` (the caller keeps ownership of `comm`).
absl::StatusOr<std::unique_ptr<Communicator>> CreateMpiCommunicator(MPI_Comm comm, CommOptions options);

// The MPI_Comm behind a communicator created by CreateMpiCommunicator (or its splits); MPI_COMM_NULL for other
// backends. Used to bootstrap NCCL and by raw-MPI benchmarks.
MPI_Comm MpiCommOf(const Communicator& communicator);

}  // namespace kachi

#endif  // KACHI_COMM_MPI_COMMUNICATOR_H_
