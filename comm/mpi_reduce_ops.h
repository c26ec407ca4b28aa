// MPI datatypes and reduction operators for kachi's DTypes, plus the element-wise helpers the MPI backend uses to
// finish an average (divide a sum) and to widen/narrow 16-bit floats around an fp32 reduction.
//
// bf16 and fp16 travel as MPI_UINT16_T and are reduced by kachi's own commutative MPI_Ops: each combine converts
// both operands to fp32, adds (or takes the max) and rounds back to the 16-bit format (round to nearest even). A
// sum over n ranks is therefore rounded n - 1 times, in an order MPI chooses.
#ifndef KACHI_COMM_MPI_REDUCE_OPS_H_
#define KACHI_COMM_MPI_REDUCE_OPS_H_

#include <mpi.h>

#include <cstddef>

#include "comm/dtype.h"

namespace kachi {

// The MPI datatype carrying `dtype` elements (MPI_FLOAT, MPI_UINT16_T, MPI_INT32_T, MPI_INT64_T).
MPI_Datatype MpiDatatypeOf(DType dtype);

// The MPI_Op combining `dtype` elements for `op`; kAvg maps to the sum (the caller divides afterwards). Creates
// kachi's bf16/fp16 ops on first use (MPI must be initialized).
MPI_Op MpiOpOf(DType dtype, ReduceOp op);

// Divides `count` elements of `data` by `divisor` in place: fp32 division for floats (16-bit values are divided
// in fp32 and rounded once), truncating integer division (C++ `/`) for int32/int64.
void DivideElements(void* data, size_t count, DType dtype, int divisor);

// Converts `count` bf16 or fp16 elements of `src` to fp32 (exact).
void WidenToFloat32(const void* src, size_t count, DType dtype, float* dst);

// Writes round16(src[i] / divisor) for `count` elements into `dst` as bf16 or fp16: one rounding per element.
void NarrowFromFloat32(const float* src, size_t count, float divisor, DType dtype, void* dst);

// True for bf16 and fp16.
inline bool IsHalfPrecision(DType dtype) { return dtype == DType::kBFloat16 || dtype == DType::kFloat16; }

}  // namespace kachi

#endif  // KACHI_COMM_MPI_REDUCE_OPS_H_
