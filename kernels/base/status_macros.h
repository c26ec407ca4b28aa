// The early-return macros of every layer (abseil 20220623 ships no public equivalent):
//   KACHI_RETURN_IF_ERROR(expr)        returns the status of `expr` (an absl::Status or absl::StatusOr) if not OK;
//   KACHI_ASSIGN_OR_RETURN(lhs, expr)  evaluates the absl::StatusOr `expr`, returns its status if not OK, else
//                                      moves its value into `lhs` (a declaration such as `auto x` or a variable).
#ifndef KACHI_KERNELS_BASE_STATUS_MACROS_H_
#define KACHI_KERNELS_BASE_STATUS_MACROS_H_

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace kachi::base_internal {

// The status of a Status or of a StatusOr, so KACHI_RETURN_IF_ERROR takes either.
inline const absl::Status& StatusOf(const absl::Status& status) { return status; }
template <typename T>
const absl::Status& StatusOf(const absl::StatusOr<T>& status_or) {
  return status_or.status();
}

}  // namespace kachi::base_internal

#define KACHI_RETURN_IF_ERROR(expr)                                                      \
  do {                                                                                   \
    if (const auto& kachi_status_ = (expr); !::kachi::base_internal::StatusOf(kachi_status_).ok()) { \
      return ::kachi::base_internal::StatusOf(kachi_status_);                            \
    }                                                                                    \
  } while (0)

#define KACHI_STATUS_MACROS_CONCAT_INNER_(a, b) a##b
#define KACHI_STATUS_MACROS_CONCAT_(a, b) KACHI_STATUS_MACROS_CONCAT_INNER_(a, b)
#define KACHI_ASSIGN_OR_RETURN(lhs, expr) \
  KACHI_ASSIGN_OR_RETURN_IMPL_(KACHI_STATUS_MACROS_CONCAT_(kachi_status_or_, __LINE__), lhs, expr)
#define KACHI_ASSIGN_OR_RETURN_IMPL_(status_or, lhs, expr) \
  auto status_or = (expr);                                 \
  if (!status_or.ok()) return status_or.status();          \
  lhs = std::move(*status_or)

#endif  // KACHI_KERNELS_BASE_STATUS_MACROS_H_
