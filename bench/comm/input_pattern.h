// The benchmark's input data and its host reference: element i of rank r's input is a small integer in 1..8 drawn
// from a seeded hash (never zero, exact in every dtype, so sums over up to 32 ranks stay exact even in bf16), and
// helpers to encode it, decode results and compare them with the expected values.
#ifndef KACHI_BENCH_COMM_INPUT_PATTERN_H_
#define KACHI_BENCH_COMM_INPUT_PATTERN_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "absl/status/status.h"
#include "comm/dtype.h"

namespace kachi {

// Element `index` of rank `rank`'s input for `seed`: an integer in [1, 8].
int64_t PatternValue(uint64_t seed, int rank, size_t index);

// `count` elements of rank `rank`'s input, starting at element 0, encoded as `dtype`.
std::vector<uint8_t> EncodePattern(DType dtype, uint64_t seed, int rank, size_t count);

// Element `index` of a `dtype` buffer, as a double.
double DecodeElement(DType dtype, const uint8_t* data, size_t index);

// The reduction of every rank's element `index` (ranks 0..ranks-1), as the backends define it: kAvg is the sum
// divided by `ranks`, truncated for integer dtypes.
double ReducedPattern(DType dtype, ReduceOp op, uint64_t seed, int ranks, size_t index);

// OK when each of the first `count` elements of `got` equals expected(i) (exactly, or within the rounding of
// `dtype` when `approximate`); otherwise names the first wrong element, its value and the expected one.
absl::Status CompareWithExpected(DType dtype, const std::vector<uint8_t>& got, size_t count, bool approximate,
                                 const std::function<double(size_t)>& expected);

}  // namespace kachi

#endif  // KACHI_BENCH_COMM_INPUT_PATTERN_H_
