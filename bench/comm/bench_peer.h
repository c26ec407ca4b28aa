// How the harness drives the world communicator's backend: where buffers live, how to wait for enqueued work, the
// raw peer kachi is compared with (bare MPI on the communicator's own MPI_Comm, or bare NCCL on its own NCCL
// communicator and stream), and the MPI communicator used for timing barriers and for reducing times.
#ifndef KACHI_BENCH_COMM_BENCH_PEER_H_
#define KACHI_BENCH_COMM_BENCH_PEER_H_

#include <mpi.h>

#include "absl/status/statusor.h"
#include "bench/comm/collective_bench.h"
#include "comm/communicator.h"

namespace kachi {

class BenchPeer {
 public:
  // The peer of `world` (an MPI or NCCL communicator); `control` is an MPI communicator over the same ranks.
  static absl::StatusOr<BenchPeer> For(Communicator& world, MPI_Comm control);

  // True when buffers must be device memory.
  bool device_buffers() const { return nccl_; }
  // "MPI" or "NCCL".
  const char* raw_name() const { return nccl_ ? "NCCL" : "MPI"; }
  // MPI communicator for barriers and time reductions.
  MPI_Comm control() const { return control_; }
  // Waits for work enqueued by kachi or the raw peer (the NCCL stream; nothing for MPI).
  absl::Status Wait() const;
  // The bare backend call of `bench`.
  absl::Status RunRaw(const CollectiveBench& bench, const BenchCall& call) const;

 private:
  BenchPeer() = default;

  bool nccl_ = false;
  MPI_Comm mpi_ = MPI_COMM_NULL;  // raw MPI calls (MPI backend)
  MPI_Comm control_ = MPI_COMM_NULL;
#ifdef KACHI_WITH_CUDA
  NcclHandles handles_;
#endif
};

}  // namespace kachi

#endif  // KACHI_BENCH_COMM_BENCH_PEER_H_
