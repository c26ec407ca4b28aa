// KACHI_RETURN_IF_ERROR: returns a non-OK absl::Status (or the status of a non-OK StatusOr) from the enclosing
// function. abseil 20220623 ships no public equivalent.
#ifndef KACHI_COMM_STATUS_MACROS_H_
#define KACHI_COMM_STATUS_MACROS_H_

#include "absl/status/status.h"

#define KACHI_RETURN_IF_ERROR(expr)                       \
  do {                                                    \
    if (absl::Status kachi_status_ = (expr); !kachi_status_.ok()) { \
      return kachi_status_;                               \
    }                                                     \
  } while (0)

#endif  // KACHI_COMM_STATUS_MACROS_H_
