// The MPI backend's collectives on host memory: in-place and out-of-place layouts of communicator.h mapped onto
// MPI calls, averages finished after the sum, and bf16/fp16 averages reduced in fp32. Out-of-place host buffers go
// straight to MPI (no copies), so the fast path costs what raw MPI costs.
//
// Numerics guaranteed (n = group size):
//   fp32 sum/max:      MPI_SUM / MPI_MAX on MPI_FLOAT; avg = that sum divided by n in fp32 (one rounding).
//   int32/int64:       exact sum/max (wrapping on overflow as MPI does); avg = sum / n, C++ integer division
//                      (truncates toward zero).
//   bf16/fp16 sum:     kachi's user op: each pairwise combine adds in fp32 and rounds to the 16-bit format, so the
//                      result carries up to n - 1 roundings, in an order MPI picks.
//   bf16/fp16 max:     exact (compared in fp32, value returned bit-exact).
//   bf16/fp16 avg:     inputs widened to fp32, summed with MPI_SUM on MPI_FLOAT, divided by n in fp32, then rounded
//                      once to the 16-bit format (the division always happens in fp32, before the only 16-bit
//                      rounding). Costs an fp32 scratch buffer of the input's element count.
#ifndef KACHI_COMM_MPI_HOST_COLLECTIVES_H_
#define KACHI_COMM_MPI_HOST_COLLECTIVES_H_

#include <mpi.h>

#include <cstddef>
#include <vector>

#include "absl/status/status.h"
#include "comm/dtype.h"
#include "kernels/base/mpi_status.h"

namespace kachi {

// Scratch memory a communicator reuses across calls (grows to the largest request, never shrinks).
struct MpiScratch {
  std::vector<unsigned char> bytes;  // in-place reduce-scatter results before they are copied into place
  std::vector<float> wide;           // fp32 copies of bf16/fp16 inputs for averages
};

// The group a host collective runs over.
struct MpiGroup {
  MPI_Comm comm = MPI_COMM_NULL;
  int rank = 0;  // this process's rank in `comm`
  int size = 0;  // ranks in `comm`
};

// All-reduce of host buffers; in place when send == recv.
absl::Status MpiHostAllReduce(const MpiGroup& group, const void* send, void* recv, size_t count, DType dtype,
                              ReduceOp op, MpiScratch& scratch);
// Reduce-scatter of host buffers; in place when recv == send + rank * recv_count (only that chunk is written).
absl::Status MpiHostReduceScatter(const MpiGroup& group, const void* send, void* recv, size_t recv_count,
                                  DType dtype, ReduceOp op, MpiScratch& scratch);
// All-gather of host buffers; in place when send == recv + rank * send_count.
absl::Status MpiHostAllGather(const MpiGroup& group, const void* send, void* recv, size_t send_count, DType dtype);
// Broadcast of a host buffer from `root`.
absl::Status MpiHostBroadcast(const MpiGroup& group, void* buffer, size_t count, DType dtype, int root);

// An error status for MPI return code `code` from `call` (OK for MPI_SUCCESS): kernels/base/mpi_status.h.
using base::MpiStatus;

}  // namespace kachi

#endif  // KACHI_COMM_MPI_HOST_COLLECTIVES_H_
