// Types and result codes of the raw peer calls (see raw_calls.h).
#include "bench/comm/raw_calls.h"

#include "absl/strings/str_cat.h"

#ifdef KACHI_WITH_CUDA
#include "comm/nccl_status.h"
#include "comm/nccl_types.h"
#endif

namespace kachi {

MPI_Datatype RawMpiCopyType(DType dtype) {
  switch (dtype) {
    case DType::kFloat32: return MPI_FLOAT;
    case DType::kBFloat16:
    case DType::kFloat16: return MPI_UINT16_T;
    case DType::kInt32: return MPI_INT32_T;
    case DType::kInt64: return MPI_INT64_T;
  }
  return MPI_BYTE;
}

absl::StatusOr<MPI_Datatype> RawMpiReduceType(DType dtype) {
  if (dtype == DType::kBFloat16 || dtype == DType::kFloat16) {
    return absl::UnimplementedError(absl::StrCat("MPI has no built-in reduction for ", DTypeName(dtype)));
  }
  return RawMpiCopyType(dtype);
}

absl::StatusOr<MPI_Op> RawMpiOp(ReduceOp op) {
  switch (op) {
    case ReduceOp::kSum: return MPI_SUM;
    case ReduceOp::kMax: return MPI_MAX;
    case ReduceOp::kAvg: return absl::UnimplementedError("MPI has no built-in average reduction");
  }
  return absl::UnimplementedError("unknown reduction");
}

absl::Status RunRawMpiReduction(RawMpiReduction reduction, const char* name, MPI_Comm comm, const BenchCall& call) {
  absl::StatusOr<MPI_Datatype> type = RawMpiReduceType(call.dtype);
  if (!type.ok()) return type.status();
  absl::StatusOr<MPI_Op> op = RawMpiOp(call.op);
  if (!op.ok()) return op.status();
  return base::MpiStatus(reduction(call.send, call.recv, static_cast<int>(call.count), *type, *op, comm), name);
}

#ifdef KACHI_WITH_CUDA
absl::Status NcclResult(ncclResult_t result, ncclComm_t comm, absl::string_view what) {
  if (result == ncclInProgress) return AwaitNcclComm(comm, absl::InfiniteFuture(), what);
  return NcclStatus(result, what, comm);
}

absl::Status RunRawNcclReduction(RawNcclReduction reduction, const char* name, const NcclHandles& nccl,
                                 const BenchCall& call) {
  return NcclResult(reduction(call.send, call.recv, call.count, ToNcclDataType(call.dtype), ToNcclRedOp(call.op),
                              nccl.comm, nccl.stream),
                    nccl.comm, name);
}
#endif

}  // namespace kachi
