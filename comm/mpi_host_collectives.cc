// Host-memory collectives of the MPI backend (see mpi_host_collectives.h).
#include "comm/mpi_host_collectives.h"

#include <algorithm>
#include <climits>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "comm/mpi_reduce_ops.h"
#include "kernels/base/status_macros.h"

namespace kachi {
namespace {

// Largest element count passed to one MPI call when an operation can be split into pieces (MPI counts are int).
constexpr size_t kMaxChunk = size_t{1} << 30;

absl::Status CheckIntCount(size_t count, const char* call) {
  if (count <= static_cast<size_t>(INT_MAX)) return absl::OkStatus();
  return absl::OutOfRangeError(
      absl::StrCat(call, ": ", count, " elements per rank exceed MPI's int count limit of ", INT_MAX));
}

// fp32 all-reduce-sum of `count` widened bf16/fp16 elements, divided by n and rounded once into `recv`.
absl::Status HalfAverageAllReduce(const MpiGroup& group, const void* send, void* recv, size_t count, DType dtype,
                                  MpiScratch& scratch) {
  if (scratch.wide.size() < count) scratch.wide.resize(count);
  float* wide = scratch.wide.data();
  WidenToFloat32(send, count, dtype, wide);
  for (size_t offset = 0; offset < count; offset += kMaxChunk) {
    const int n = static_cast<int>(std::min(kMaxChunk, count - offset));
    KACHI_RETURN_IF_ERROR(
        MpiStatus(MPI_Allreduce(MPI_IN_PLACE, wide + offset, n, MPI_FLOAT, MPI_SUM, group.comm), "MPI_Allreduce"));
  }
  NarrowFromFloat32(wide, count, static_cast<float>(group.size), dtype, recv);
  return absl::OkStatus();
}

}  // namespace

absl::Status MpiHostAllReduce(const MpiGroup& group, const void* send, void* recv, size_t count, DType dtype,
                              ReduceOp op, MpiScratch& scratch) {
  if (count == 0) return absl::OkStatus();
  if (op == ReduceOp::kAvg && IsHalfPrecision(dtype)) {
    return HalfAverageAllReduce(group, send, recv, count, dtype, scratch);
  }
  const size_t element = DTypeSize(dtype);
  const MPI_Datatype type = MpiDatatypeOf(dtype);
  const MPI_Op mpi_op = MpiOpOf(dtype, op);
  for (size_t offset = 0; offset < count; offset += kMaxChunk) {
    const int n = static_cast<int>(std::min(kMaxChunk, count - offset));
    const void* chunk_send = send == recv ? MPI_IN_PLACE : static_cast<const char*>(send) + offset * element;
    KACHI_RETURN_IF_ERROR(
        MpiStatus(MPI_Allreduce(chunk_send, static_cast<char*>(recv) + offset * element, n, type, mpi_op, group.comm),
                  "MPI_Allreduce"));
  }
  if (op == ReduceOp::kAvg) DivideElements(recv, count, dtype, group.size);
  return absl::OkStatus();
}

absl::Status MpiHostReduceScatter(const MpiGroup& group, const void* send, void* recv, size_t recv_count,
                                  DType dtype, ReduceOp op, MpiScratch& scratch) {
  if (recv_count == 0) return absl::OkStatus();
  KACHI_RETURN_IF_ERROR(CheckIntCount(recv_count, "MPI_Reduce_scatter_block"));
  const int n = static_cast<int>(recv_count);
  const size_t recv_bytes = recv_count * DTypeSize(dtype);
  if (op == ReduceOp::kAvg && IsHalfPrecision(dtype)) {
    const size_t total = recv_count * static_cast<size_t>(group.size);
    if (scratch.wide.size() < total) scratch.wide.resize(total);
    float* wide = scratch.wide.data();
    WidenToFloat32(send, total, dtype, wide);
    KACHI_RETURN_IF_ERROR(MpiStatus(MPI_Reduce_scatter_block(MPI_IN_PLACE, wide, n, MPI_FLOAT, MPI_SUM, group.comm),
                                    "MPI_Reduce_scatter_block"));
    NarrowFromFloat32(wide, recv_count, static_cast<float>(group.size), dtype, recv);
    return absl::OkStatus();
  }
  const bool in_place = static_cast<const char*>(send) + recv_bytes * group.rank == static_cast<char*>(recv);
  // In place, the result goes to scratch first so that the other ranks' chunks of `send` stay untouched.
  void* target = recv;
  if (in_place) {
    if (scratch.bytes.size() < recv_bytes) scratch.bytes.resize(recv_bytes);
    target = scratch.bytes.data();
  }
  KACHI_RETURN_IF_ERROR(
      MpiStatus(MPI_Reduce_scatter_block(send, target, n, MpiDatatypeOf(dtype), MpiOpOf(dtype, op), group.comm),
                "MPI_Reduce_scatter_block"));
  if (in_place) std::memcpy(recv, target, recv_bytes);
  if (op == ReduceOp::kAvg) DivideElements(recv, recv_count, dtype, group.size);
  return absl::OkStatus();
}

absl::Status MpiHostAllGather(const MpiGroup& group, const void* send, void* recv, size_t send_count, DType dtype) {
  if (send_count == 0) return absl::OkStatus();
  KACHI_RETURN_IF_ERROR(CheckIntCount(send_count, "MPI_Allgather"));
  const int n = static_cast<int>(send_count);
  const MPI_Datatype type = MpiDatatypeOf(dtype);
  const bool in_place =
      static_cast<const char*>(recv) + send_count * DTypeSize(dtype) * group.rank == static_cast<const char*>(send);
  const int code = in_place ? MPI_Allgather(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, recv, n, type, group.comm)
                            : MPI_Allgather(send, n, type, recv, n, type, group.comm);
  return MpiStatus(code, "MPI_Allgather");
}

absl::Status MpiHostBroadcast(const MpiGroup& group, void* buffer, size_t count, DType dtype, int root) {
  const size_t element = DTypeSize(dtype);
  const MPI_Datatype type = MpiDatatypeOf(dtype);
  for (size_t offset = 0; offset < count; offset += kMaxChunk) {
    const int n = static_cast<int>(std::min(kMaxChunk, count - offset));
    KACHI_RETURN_IF_ERROR(
        MpiStatus(MPI_Bcast(static_cast<char*>(buffer) + offset * element, n, type, root, group.comm), "MPI_Bcast"));
  }
  return absl::OkStatus();
}

}  // namespace kachi
