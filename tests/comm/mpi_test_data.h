// Shared helpers of the multi-rank comm tests: seeded random per-rank inputs of any DType (every rank can rebuild
// every other rank's input), element access as double, and the reference reduction with its stated tolerance.
#ifndef KACHI_TESTS_COMM_MPI_TEST_DATA_H_
#define KACHI_TESTS_COMM_MPI_TEST_DATA_H_

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "comm/dtype.h"
#include "gtest/gtest.h"

namespace kachi::testing {

using Bytes = std::vector<unsigned char>;

// `count` random elements of `dtype` from `seed`: floats uniform in [-1, 1) (rounded to bf16/fp16 for those),
// int32 in [-10^6, 10^6], int64 in [-2^40, 2^40] (so sums over a few ranks stay exact in double).
inline Bytes RandomElements(DType dtype, size_t count, uint64_t seed) {
  std::mt19937_64 gen(seed);
  std::uniform_real_distribution<float> real(-1.0f, 1.0f);
  Bytes out(count * DTypeSize(dtype));
  for (size_t i = 0; i < count; ++i) {
    unsigned char* at = out.data() + i * DTypeSize(dtype);
    switch (dtype) {
      case DType::kFloat32: { float v = real(gen); std::memcpy(at, &v, 4); break; }
      case DType::kBFloat16: { uint16_t v = FloatToBFloat16(real(gen)); std::memcpy(at, &v, 2); break; }
      case DType::kFloat16: { uint16_t v = FloatToHalf(real(gen)); std::memcpy(at, &v, 2); break; }
      case DType::kInt32: {
        int32_t v = std::uniform_int_distribution<int32_t>(-1000000, 1000000)(gen);
        std::memcpy(at, &v, 4);
        break;
      }
      case DType::kInt64: {
        int64_t v = std::uniform_int_distribution<int64_t>(-(int64_t{1} << 40), int64_t{1} << 40)(gen);
        std::memcpy(at, &v, 8);
        break;
      }
    }
  }
  return out;
}

// Element `i` of `data` as a double (exact for every value RandomElements makes and their small sums).
inline double ValueAt(const void* data, size_t i, DType dtype) {
  const auto* at = static_cast<const unsigned char*>(data) + i * DTypeSize(dtype);
  switch (dtype) {
    case DType::kFloat32: { float v; std::memcpy(&v, at, 4); return v; }
    case DType::kBFloat16: { uint16_t v; std::memcpy(&v, at, 2); return BFloat16ToFloat(v); }
    case DType::kFloat16: { uint16_t v; std::memcpy(&v, at, 2); return HalfToFloat(v); }
    case DType::kInt32: { int32_t v; std::memcpy(&v, at, 4); return v; }
    case DType::kInt64: { int64_t v; std::memcpy(&v, at, 8); return static_cast<double>(v); }
  }
  return NAN;
}

// The per-rank inputs of one test case: rank r's input comes from seed * 1000 + r.
inline std::vector<Bytes> InputsOfAllRanks(DType dtype, size_t count, uint64_t seed, int ranks) {
  std::vector<Bytes> inputs;
  for (int r = 0; r < ranks; ++r) inputs.push_back(RandomElements(dtype, count, seed * 1000 + r));
  return inputs;
}

// Allowed |result - exact| for a reduction over n ranks (`abs_sum` = sum of |inputs|, `exact` = exact result):
//   int32/int64 and max of any type: 0 (exact).
//   fp32 sum: n * 2^-24 * abs_sum; fp32 avg: that / n plus one rounding (2^-24 |exact|).
//   bf16/fp16 sum (pairwise fp32 add, rounded each time): (n - 1) * u * abs_sum, u = 2^-8 (bf16) or 2^-11 (fp16).
//   bf16/fp16 avg (fp32 sum, fp32 divide, one rounding): u * |exact| + 2^-24 * n * abs_sum / n.
//   fp16 adds 2^-24 for subnormal spacing.
inline double Tolerance(DType dtype, ReduceOp op, int n, double abs_sum, double exact) {
  if (op == ReduceOp::kMax || dtype == DType::kInt32 || dtype == DType::kInt64) return 0.0;
  const double fp32_unit = std::ldexp(1.0, -24);
  if (dtype == DType::kFloat32) {
    return op == ReduceOp::kSum ? n * fp32_unit * abs_sum : fp32_unit * abs_sum + fp32_unit * std::fabs(exact);
  }
  const double unit = dtype == DType::kBFloat16 ? std::ldexp(1.0, -8) : std::ldexp(1.0, -11);
  const double subnormal = dtype == DType::kFloat16 ? fp32_unit : 0.0;
  if (op == ReduceOp::kSum) return (n - 1) * unit * abs_sum * (1 + n * unit) + (n - 1) * subnormal;
  return unit * std::fabs(exact) + fp32_unit * abs_sum + subnormal;
}

// Checks `count` elements of `got` against the reduction of every rank's input at [offset, offset + count).
// Reports the first few mismatches only.
inline void ExpectReduced(const void* got, size_t count, DType dtype, ReduceOp op, const std::vector<Bytes>& inputs,
                          size_t offset) {
  const int n = static_cast<int>(inputs.size());
  int reported = 0;
  size_t mismatches = 0;
  for (size_t i = 0; i < count; ++i) {
    double sum = 0, abs_sum = 0, max = -INFINITY;
    for (const Bytes& input : inputs) {
      const double v = ValueAt(input.data(), offset + i, dtype);
      sum += v;
      abs_sum += std::fabs(v);
      max = std::max(max, v);
    }
    double exact = op == ReduceOp::kMax ? max : op == ReduceOp::kSum ? sum : sum / n;
    if (op == ReduceOp::kAvg && (dtype == DType::kInt32 || dtype == DType::kInt64)) {
      exact = static_cast<double>(static_cast<int64_t>(sum) / n);  // truncating integer division
    }
    const double value = ValueAt(got, i, dtype);
    const double tolerance = Tolerance(dtype, op, n, abs_sum, exact);
    if (!(std::fabs(value - exact) <= tolerance)) {
      ++mismatches;
      if (reported++ < 5) {
        ADD_FAILURE() << DTypeName(dtype) << " " << ReduceOpName(op) << " element " << i << ": got " << value
                      << ", expected " << exact << " +- " << tolerance;
      }
    }
  }
  EXPECT_EQ(mismatches, 0u) << "of " << count << " elements";
}

// Bytes of `count` elements of a recognizable non-zero pattern, for receive buffers that must be overwritten.
inline Bytes Garbage(DType dtype, size_t count) { return Bytes(count * DTypeSize(dtype), 0x5A); }

}  // namespace kachi::testing

#endif  // KACHI_TESTS_COMM_MPI_TEST_DATA_H_
