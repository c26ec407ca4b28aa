// The backend-specific half of the harness (see bench_peer.h).
#include "bench/comm/bench_peer.h"

#include "absl/strings/str_cat.h"
#include "comm/mpi_communicator.h"

#ifdef KACHI_WITH_CUDA
#include <cuda_runtime.h>

#include "comm/nccl_status.h"
#endif

namespace kachi {

absl::StatusOr<BenchPeer> BenchPeer::For(Communicator& world, MPI_Comm control) {
  BenchPeer peer;
  peer.control_ = control;
  if (world.backend() == "mpi") {
    peer.mpi_ = MpiCommOf(world);
    if (peer.mpi_ == MPI_COMM_NULL) return absl::InternalError("MPI communicator without an MPI_Comm");
    return peer;
  }
#ifdef KACHI_WITH_CUDA
  if (world.backend() == "nccl") {
    absl::StatusOr<NcclHandles> handles = NcclHandlesOf(world);
    if (!handles.ok()) return handles.status();
    peer.nccl_ = true;
    peer.handles_ = *handles;
    return peer;
  }
#endif
  return absl::UnimplementedError(absl::StrCat("no raw peer for backend '", world.backend(), "'"));
}

absl::Status BenchPeer::Wait() const {
#ifdef KACHI_WITH_CUDA
  if (nccl_) return CudaStatus(cudaStreamSynchronize(handles_.stream), "cudaStreamSynchronize");
#endif
  return absl::OkStatus();
}

absl::Status BenchPeer::RunRaw(const CollectiveBench& bench, const BenchCall& call) const {
#ifdef KACHI_WITH_CUDA
  if (nccl_) return bench.RunRawNccl(handles_, call);
#endif
  return bench.RunRawMpi(mpi_, call);
}

}  // namespace kachi
