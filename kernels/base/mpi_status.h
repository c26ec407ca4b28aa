// The MPI error -> absl::Status converter of every layer (header only; for sources that use MPI: comm, bench,
// launcher). OK for MPI_SUCCESS, else Internal "<call> failed with MPI error <code>: <MPI_Error_string>".
#ifndef KACHI_KERNELS_BASE_MPI_STATUS_H_
#define KACHI_KERNELS_BASE_MPI_STATUS_H_

#include <mpi.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace kachi::base {

// OK for MPI_SUCCESS, else Internal naming the failed call and the MPI error.
inline absl::Status MpiStatus(int code, absl::string_view call) {
  if (code == MPI_SUCCESS) return absl::OkStatus();
  char text[MPI_MAX_ERROR_STRING] = {0};
  int length = 0;
  MPI_Error_string(code, text, &length);
  return absl::InternalError(
      absl::StrCat(call, " failed with MPI error ", code, ": ", absl::string_view(text, length)));
}

}  // namespace kachi::base

#endif  // KACHI_KERNELS_BASE_MPI_STATUS_H_
