// Turns NCCL and CUDA result codes into absl::Status, and waits for a non-blocking NCCL communicator to leave the
// ncclInProgress state (CUDA builds only).
#ifndef KACHI_COMM_NCCL_STATUS_H_
#define KACHI_COMM_NCCL_STATUS_H_

#include <cuda_runtime.h>
#include <nccl.h>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace kachi {

// OK for ncclSuccess; otherwise an error whose message names `what`, the NCCL error and, when `comm` is given,
// NCCL's last error text for it. ncclInProgress is not an error for the caller to see here: use AwaitNcclComm.
absl::Status NcclStatus(ncclResult_t result, absl::string_view what, ncclComm_t comm = nullptr);

// OK for cudaSuccess; otherwise an error naming `what` and the CUDA error (and clears a non-sticky CUDA error).
absl::Status CudaStatus(cudaError_t result, absl::string_view what);

// Polls ncclCommGetAsyncError(comm) until it leaves ncclInProgress. Returns OK on ncclSuccess, the NCCL error
// otherwise, and DeadlineExceeded (naming `what` and the wait) when `deadline` passes first.
absl::Status AwaitNcclComm(ncclComm_t comm, absl::Time deadline, absl::string_view what);

}  // namespace kachi

#endif  // KACHI_COMM_NCCL_STATUS_H_
