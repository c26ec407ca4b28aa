// kachi's MPI reduction ops for bf16/fp16 and the element-wise helpers of mpi_reduce_ops.h.
#include "comm/mpi_reduce_ops.h"

#include <algorithm>
#include <cstdint>
#include <mutex>

namespace kachi {
namespace {

// Converters between a 16-bit format and fp32, selected at compile time per op.
struct BFloat16Format {
  static float ToFloat(uint16_t v) { return BFloat16ToFloat(v); }
  static uint16_t FromFloat(float v) { return FloatToBFloat16(v); }
};
struct HalfFormat {
  static float ToFloat(uint16_t v) { return HalfToFloat(v); }
  static uint16_t FromFloat(float v) { return FloatToHalf(v); }
};

// inout[i] = round(in[i] + inout[i]) with the addition in fp32.
template <typename Format>
void SumHalves(void* in, void* inout, int* len, MPI_Datatype*) {
  const auto* a = static_cast<const uint16_t*>(in);
  auto* b = static_cast<uint16_t*>(inout);
  for (int i = 0; i < *len; ++i) b[i] = Format::FromFloat(Format::ToFloat(a[i]) + Format::ToFloat(b[i]));
}

// inout[i] = the larger of in[i] and inout[i] (compared in fp32; the value is kept bit-exact).
template <typename Format>
void MaxHalves(void* in, void* inout, int* len, MPI_Datatype*) {
  const auto* a = static_cast<const uint16_t*>(in);
  auto* b = static_cast<uint16_t*>(inout);
  for (int i = 0; i < *len; ++i) {
    if (Format::ToFloat(a[i]) > Format::ToFloat(b[i])) b[i] = a[i];
  }
}

// kachi's user-defined ops, created once.
struct HalfOps {
  MPI_Op bf16_sum = MPI_OP_NULL;
  MPI_Op bf16_max = MPI_OP_NULL;
  MPI_Op fp16_sum = MPI_OP_NULL;
  MPI_Op fp16_max = MPI_OP_NULL;
};

const HalfOps& GetHalfOps() {
  static HalfOps ops;
  static std::once_flag once;
  std::call_once(once, [] {
    constexpr int kCommutative = 1;
    MPI_Op_create(&SumHalves<BFloat16Format>, kCommutative, &ops.bf16_sum);
    MPI_Op_create(&MaxHalves<BFloat16Format>, kCommutative, &ops.bf16_max);
    MPI_Op_create(&SumHalves<HalfFormat>, kCommutative, &ops.fp16_sum);
    MPI_Op_create(&MaxHalves<HalfFormat>, kCommutative, &ops.fp16_max);
  });
  return ops;
}

template <typename T>
void DivideIntegers(void* data, size_t count, int divisor) {
  auto* values = static_cast<T*>(data);
  const T d = static_cast<T>(divisor);
  for (size_t i = 0; i < count; ++i) values[i] /= d;
}

}  // namespace

MPI_Datatype MpiDatatypeOf(DType dtype) {
  switch (dtype) {
    case DType::kFloat32: return MPI_FLOAT;
    case DType::kBFloat16: return MPI_UINT16_T;
    case DType::kFloat16: return MPI_UINT16_T;
    case DType::kInt32: return MPI_INT32_T;
    case DType::kInt64: return MPI_INT64_T;
  }
  return MPI_DATATYPE_NULL;
}

MPI_Op MpiOpOf(DType dtype, ReduceOp op) {
  const bool max = op == ReduceOp::kMax;
  switch (dtype) {
    case DType::kBFloat16: return max ? GetHalfOps().bf16_max : GetHalfOps().bf16_sum;
    case DType::kFloat16: return max ? GetHalfOps().fp16_max : GetHalfOps().fp16_sum;
    default: return max ? MPI_MAX : MPI_SUM;
  }
}

void DivideElements(void* data, size_t count, DType dtype, int divisor) {
  switch (dtype) {
    case DType::kFloat32: {
      auto* values = static_cast<float*>(data);
      const float d = static_cast<float>(divisor);
      for (size_t i = 0; i < count; ++i) values[i] /= d;
      return;
    }
    case DType::kBFloat16: {
      auto* values = static_cast<uint16_t*>(data);
      const float d = static_cast<float>(divisor);
      for (size_t i = 0; i < count; ++i) values[i] = FloatToBFloat16(BFloat16ToFloat(values[i]) / d);
      return;
    }
    case DType::kFloat16: {
      auto* values = static_cast<uint16_t*>(data);
      const float d = static_cast<float>(divisor);
      for (size_t i = 0; i < count; ++i) values[i] = FloatToHalf(HalfToFloat(values[i]) / d);
      return;
    }
    case DType::kInt32: DivideIntegers<int32_t>(data, count, divisor); return;
    case DType::kInt64: DivideIntegers<int64_t>(data, count, divisor); return;
  }
}

void WidenToFloat32(const void* src, size_t count, DType dtype, float* dst) {
  const auto* values = static_cast<const uint16_t*>(src);
  if (dtype == DType::kBFloat16) {
    for (size_t i = 0; i < count; ++i) dst[i] = BFloat16ToFloat(values[i]);
  } else {
    for (size_t i = 0; i < count; ++i) dst[i] = HalfToFloat(values[i]);
  }
}

void NarrowFromFloat32(const float* src, size_t count, float divisor, DType dtype, void* dst) {
  auto* values = static_cast<uint16_t*>(dst);
  if (dtype == DType::kBFloat16) {
    for (size_t i = 0; i < count; ++i) values[i] = FloatToBFloat16(src[i] / divisor);
  } else {
    for (size_t i = 0; i < count; ++i) values[i] = FloatToHalf(src[i] / divisor);
  }
}

}  // namespace kachi
