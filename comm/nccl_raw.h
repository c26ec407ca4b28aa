// The raw NCCL handles behind a communicator made by CreateNcclCommunicator (CUDA builds only), for benchmarks that
// time the bare NCCL call beside kachi's on the same NCCL communicator and stream.
#ifndef KACHI_COMM_NCCL_RAW_H_
#define KACHI_COMM_NCCL_RAW_H_

#include <cuda_runtime.h>
#include <nccl.h>

#include "absl/status/statusor.h"
#include "comm/communicator.h"

namespace kachi {

// What a raw NCCL call needs to run where kachi's NCCL backend runs.
struct NcclHandles {
  ncclComm_t comm = nullptr;     // the communicator's NCCL communicator (owned by it)
  cudaStream_t stream = nullptr;  // the stream it enqueues on (owned by it)
  int device = -1;                // its CUDA device
};

// The handles of `communicator`; InvalidArgument when it is not an NCCL communicator.
absl::StatusOr<NcclHandles> NcclHandlesOf(const Communicator& communicator);

}  // namespace kachi

#endif  // KACHI_COMM_NCCL_RAW_H_
