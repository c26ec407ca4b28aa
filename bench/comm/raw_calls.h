// Helpers for the raw peer calls: MPI and NCCL types for a kachi dtype/op, and result codes as absl::Status.
#ifndef KACHI_BENCH_COMM_RAW_CALLS_H_
#define KACHI_BENCH_COMM_RAW_CALLS_H_

#include <mpi.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "comm/dtype.h"
#include "kernels/base/mpi_status.h"

#ifdef KACHI_WITH_CUDA
#include <nccl.h>
#endif

namespace kachi {

// MPI type that moves `dtype` elements without reducing them (bf16/fp16 travel as MPI_UINT16_T).
MPI_Datatype RawMpiCopyType(DType dtype);
// MPI type for reducing `dtype`; Unimplemented for bf16/fp16, which MPI cannot reduce natively.
absl::StatusOr<MPI_Datatype> RawMpiReduceType(DType dtype);
// MPI op for `op`; Unimplemented for avg, which MPI lacks.
absl::StatusOr<MPI_Op> RawMpiOp(ReduceOp op);

#ifdef KACHI_WITH_CUDA
// OK for ncclSuccess (a non-blocking communicator's ncclInProgress is waited out), else an error naming `what`.
absl::Status NcclResult(ncclResult_t result, ncclComm_t comm, absl::string_view what);
#endif

}  // namespace kachi

#endif  // KACHI_BENCH_COMM_RAW_CALLS_H_
