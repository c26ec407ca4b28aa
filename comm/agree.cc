// AgreeOnStatus (see agree.h).
#include "comm/agree.h"

#include <cstdint>

#include "absl/strings/str_cat.h"
#include "kernels/base/status_macros.h"

namespace kachi {

absl::Status AgreeOnStatus(Communicator& comm, const absl::Status& status, absl::string_view what) {
  int64_t failed_rank = status.ok() ? -1 : comm.rank();
  KACHI_RETURN_IF_ERROR(comm.AllReduce(&failed_rank, &failed_rank, 1, DType::kInt64, ReduceOp::kMax));
  if (!status.ok()) {
    return what.empty() ? status : absl::Status(status.code(), absl::StrCat(what, ": ", status.message()));
  }
  if (failed_rank < 0) return absl::OkStatus();
  return absl::AbortedError(what.empty() ? absl::StrCat("rank ", failed_rank, " failed (see its message)")
                                         : absl::StrCat(what, " failed on rank ", failed_rank, " (see its message)"));
}

}  // namespace kachi
