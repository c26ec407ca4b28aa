// Turns NCCL result codes into absl::Status (CUDA's: kernels/base/cuda_status.h, re-exported here), and waits for a non-blocking NCCL communicator to leave the
// ncclInProgress state (CUDA builds only).
#ifndef KACHI_COMM_NCCL_STATUS_H_
#define KACHI_COMM_NCCL_STATUS_H_

#include <cuda_runtime.h>
#include <nccl.h>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "kernels/base/cuda_status.h"

namespace kachi {

// OK for ncclSuccess; otherwise an error whose message names `what`, the NCCL error and, when `comm` is given,
// NCCL's last error text for it. ncclInProgress is not an error for the caller to see here: use AwaitNcclComm.
absl::Status NcclStatus(ncclResult_t result, absl::string_view what, ncclComm_t comm = nullptr);

// The CUDA error converter of every layer (kernels/base/cuda_status.h).
using base::CudaStatus;

// Polls ncclCommGetAsyncError(comm) until it leaves ncclInProgress. Returns OK on ncclSuccess, the NCCL error
// otherwise, and DeadlineExceeded (naming `what` and the wait) when `deadline` passes first.
absl::Status AwaitNcclComm(ncclComm_t comm, absl::Time deadline, absl::string_view what);

}  // namespace kachi

#endif  // KACHI_COMM_NCCL_STATUS_H_
