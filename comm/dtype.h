// Forwarding header: DType, ReduceOp and the fp16/bf16 conversions moved to the foundation, kernels/base/dtype.h.
// New code includes that header; this one stays while files owned by other work still name it.
#ifndef KACHI_COMM_DTYPE_H_
#define KACHI_COMM_DTYPE_H_

#include "kernels/base/dtype.h"  // IWYU pragma: export

#endif  // KACHI_COMM_DTYPE_H_
