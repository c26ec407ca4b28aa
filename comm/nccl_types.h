// Maps kachi's element types and reduction operators onto NCCL's enums (CUDA builds only).
#ifndef KACHI_COMM_NCCL_TYPES_H_
#define KACHI_COMM_NCCL_TYPES_H_

#include <nccl.h>

#include "comm/dtype.h"

namespace kachi {

// The NCCL data type with the same layout as `dtype`.
inline ncclDataType_t ToNcclDataType(DType dtype) {
  switch (dtype) {
    case DType::kFloat32: return ncclFloat32;
    case DType::kBFloat16: return ncclBfloat16;
    case DType::kFloat16: return ncclFloat16;
    case DType::kInt32: return ncclInt32;
    case DType::kInt64: return ncclInt64;
  }
  return ncclFloat32;
}

// The NCCL reduction for `op` (kAvg is NCCL's native ncclAvg: floats scale by 1/n, integers divide the sum).
inline ncclRedOp_t ToNcclRedOp(ReduceOp op) {
  switch (op) {
    case ReduceOp::kSum: return ncclSum;
    case ReduceOp::kAvg: return ncclAvg;
    case ReduceOp::kMax: return ncclMax;
  }
  return ncclSum;
}

}  // namespace kachi

#endif  // KACHI_COMM_NCCL_TYPES_H_
