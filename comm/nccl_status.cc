// NCCL/CUDA result codes as absl::Status, and the ncclInProgress wait (see nccl_status.h).
#include "comm/nccl_status.h"

#include <algorithm>
#include <thread>

#include "absl/strings/str_cat.h"
#include "kernels/base/status_macros.h"

namespace kachi {
namespace {

// Maps an NCCL failure onto the closest absl status code.
absl::StatusCode CodeFor(ncclResult_t result) {
  switch (result) {
    case ncclInvalidArgument:
    case ncclInvalidUsage: return absl::StatusCode::kInvalidArgument;
    case ncclRemoteError:
    case ncclSystemError: return absl::StatusCode::kUnavailable;
    default: return absl::StatusCode::kInternal;
  }
}

}  // namespace

absl::Status NcclStatus(ncclResult_t result, absl::string_view what, ncclComm_t comm) {
  if (result == ncclSuccess) return absl::OkStatus();
  std::string message = absl::StrCat(what, " failed: NCCL error ", static_cast<int>(result), " (",
                                     ncclGetErrorString(result), ")");
  const char* last = ncclGetLastError(comm);
  if (last != nullptr && last[0] != '\0') absl::StrAppend(&message, ": ", last);
  return absl::Status(CodeFor(result), message);
}

absl::Status AwaitNcclComm(ncclComm_t comm, absl::Time deadline, absl::string_view what) {
  const absl::Time start = absl::Now();
  absl::Duration pause = absl::Microseconds(1);
  while (true) {
    ncclResult_t state = ncclSuccess;
    KACHI_RETURN_IF_ERROR(NcclStatus(ncclCommGetAsyncError(comm, &state), "ncclCommGetAsyncError", comm));
    if (state != ncclInProgress) return NcclStatus(state, what, comm);
    const absl::Time now = absl::Now();
    if (now >= deadline) {
      return absl::DeadlineExceededError(absl::StrCat(what, " still in progress after ",
                                                      absl::FormatDuration(now - start),
                                                      " (deadline passed; a peer rank may be missing)"));
    }
    std::this_thread::sleep_for(absl::ToChronoNanoseconds(pause));
    pause = std::min(pause * 2, absl::Milliseconds(1));
  }
}

}  // namespace kachi
