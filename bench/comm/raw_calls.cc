// Types and result codes of the raw peer calls (see raw_calls.h).
#include "bench/comm/raw_calls.h"

#include "absl/strings/str_cat.h"

#ifdef KACHI_WITH_CUDA
#include "comm/nccl_status.h"
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
#ifdef KACHI_WITH_CUDA
absl::Status NcclResult(ncclResult_t result, ncclComm_t comm, absl::string_view what) {
  if (result == ncclInProgress) return AwaitNcclComm(comm, absl::InfiniteFuture(), what);
  return NcclStatus(result, what, comm);
}
#endif

}  // namespace kachi
