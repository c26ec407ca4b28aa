// Benchmark input pattern and host reference (see input_pattern.h).
#include "bench/comm/input_pattern.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "kernels/base/splitmix64.h"

namespace kachi {
namespace {

using base::SplitMix64;

// Stores `value` (any alignment) and loads one S at `at`.
template <typename S>
void StoreAt(uint8_t* at, S value) {
  std::memcpy(at, &value, sizeof(S));
}
template <typename S>
S LoadAt(const uint8_t* at) {
  S value;
  std::memcpy(&value, at, sizeof(S));
  return value;
}

// Stores `value` as one `dtype` element at `out`.
void EncodeElement(DType dtype, double value, uint8_t* out) {
  switch (dtype) {
    case DType::kFloat32: return StoreAt(out, static_cast<float>(value));
    case DType::kBFloat16: return StoreAt(out, FloatToBFloat16(static_cast<float>(value)));
    case DType::kFloat16: return StoreAt(out, FloatToHalf(static_cast<float>(value)));
    case DType::kInt32: return StoreAt(out, static_cast<int32_t>(value));
    case DType::kInt64: return StoreAt(out, static_cast<int64_t>(value));
  }
}

// Relative tolerance of an averaged result in `dtype` (a few roundings of the format).
double AverageTolerance(DType dtype) {
  switch (dtype) {
    case DType::kFloat32: return 1e-6;
    case DType::kBFloat16: return 2e-2;
    case DType::kFloat16: return 3e-3;
    default: return 0.0;
  }
}

}  // namespace

int64_t PatternValue(uint64_t seed, int rank, size_t index) {
  return 1 + static_cast<int64_t>(SplitMix64(seed ^ SplitMix64((static_cast<uint64_t>(rank) << 48) ^ index)) & 7);
}

std::vector<uint8_t> EncodePattern(DType dtype, uint64_t seed, int rank, size_t count) {
  const size_t width = DTypeSize(dtype);
  std::vector<uint8_t> out(count * width);
  for (size_t i = 0; i < count; ++i) {
    EncodeElement(dtype, static_cast<double>(PatternValue(seed, rank, i)), out.data() + i * width);
  }
  return out;
}

double DecodeElement(DType dtype, const uint8_t* data, size_t index) {
  const uint8_t* at = data + index * DTypeSize(dtype);
  switch (dtype) {
    case DType::kFloat32: return LoadAt<float>(at);
    case DType::kBFloat16: return BFloat16ToFloat(LoadAt<uint16_t>(at));
    case DType::kFloat16: return HalfToFloat(LoadAt<uint16_t>(at));
    case DType::kInt32: return LoadAt<int32_t>(at);
    case DType::kInt64: return static_cast<double>(LoadAt<int64_t>(at));
  }
  return 0.0;
}

double ReducedPattern(DType dtype, ReduceOp op, uint64_t seed, int ranks, size_t index) {
  int64_t sum = 0;
  int64_t max = 0;
  for (int r = 0; r < ranks; ++r) {
    const int64_t v = PatternValue(seed, r, index);
    sum += v;
    max = std::max(max, v);
  }
  switch (op) {
    case ReduceOp::kSum: return static_cast<double>(sum);
    case ReduceOp::kMax: return static_cast<double>(max);
    case ReduceOp::kAvg:
      if (dtype == DType::kInt32 || dtype == DType::kInt64) return static_cast<double>(sum / ranks);
      return static_cast<double>(sum) / ranks;
  }
  return 0.0;
}

absl::Status CompareWithExpected(DType dtype, const std::vector<uint8_t>& got, size_t count, bool approximate,
                                 const std::function<double(size_t)>& expected) {
  if (got.size() < count * DTypeSize(dtype)) {
    return absl::InternalError(absl::StrCat("result has ", got.size(), " bytes, expected ", count * DTypeSize(dtype)));
  }
  const double tolerance = approximate ? AverageTolerance(dtype) : 0.0;
  for (size_t i = 0; i < count; ++i) {
    const double want = expected(i);
    const double have = DecodeElement(dtype, got.data(), i);
    if (std::fabs(have - want) > tolerance * std::fabs(want)) {
      return absl::InternalError(absl::StrCat("element ", i, " of ", count, " is ", have, ", expected ", want,
                                              approximate ? absl::StrCat(" (relative tolerance ", tolerance, ")")
                                                          : std::string(" (exact)")));
    }
  }
  return absl::OkStatus();
}

}  // namespace kachi
