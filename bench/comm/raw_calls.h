// Helpers for the raw peer calls: MPI and NCCL types for a kachi dtype/op, result codes as absl::Status, and the
// reducing collectives (all-reduce, reduce-scatter) run on a call's buffers.
#ifndef KACHI_BENCH_COMM_RAW_CALLS_H_
#define KACHI_BENCH_COMM_RAW_CALLS_H_

#include <mpi.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "bench/comm/collective_bench.h"
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

// A reducing MPI collective with MPI_Allreduce's signature (MPI_Allreduce, MPI_Reduce_scatter_block).
using RawMpiReduction = int (*)(const void*, void*, int, MPI_Datatype, MPI_Op, MPI_Comm);
// `reduction` (named `name`) on call's send/recv buffers with its count, dtype and op; Unimplemented where MPI
// cannot reduce them natively.
absl::Status RunRawMpiReduction(RawMpiReduction reduction, const char* name, MPI_Comm comm, const BenchCall& call);

#ifdef KACHI_WITH_CUDA
// OK for ncclSuccess (a non-blocking communicator's ncclInProgress is waited out), else an error naming `what`.
absl::Status NcclResult(ncclResult_t result, ncclComm_t comm, absl::string_view what);

// A reducing NCCL collective with ncclAllReduce's signature (ncclAllReduce, ncclReduceScatter).
using RawNcclReduction = ncclResult_t (*)(const void*, void*, size_t, ncclDataType_t, ncclRedOp_t, ncclComm_t,
                                          cudaStream_t);
// `reduction` (named `name`) on call's buffers, count, dtype and op, on nccl's communicator and stream.
absl::Status RunRawNcclReduction(RawNcclReduction reduction, const char* name, const NcclHandles& nccl,
                                 const BenchCall& call);
#endif

}  // namespace kachi

#endif  // KACHI_BENCH_COMM_RAW_CALLS_H_
