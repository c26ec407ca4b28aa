// Forwarding header: KACHI_RETURN_IF_ERROR (and KACHI_ASSIGN_OR_RETURN) moved to the foundation,
// kernels/base/status_macros.h. New code includes that header; this one stays while other work still names it.
#ifndef KACHI_COMM_STATUS_MACROS_H_
#define KACHI_COMM_STATUS_MACROS_H_

#include "kernels/base/status_macros.h"  // IWYU pragma: export

#endif  // KACHI_COMM_STATUS_MACROS_H_
