// Element types (fp32, bf16, fp16, int32, int64) shared by every layer, reduction operators of the communicator
// backends, and host-side conversions between fp32 and the 16-bit float formats (bf16, fp16).
#ifndef KACHI_KERNELS_BASE_DTYPE_H_
#define KACHI_KERNELS_BASE_DTYPE_H_

#include <cstddef>
#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace kachi {

// Element type of a communication buffer.
enum class DType : int { kFloat32 = 0, kBFloat16 = 1, kFloat16 = 2, kInt32 = 3, kInt64 = 4 };

// Every DType, in declaration order (for tests and benchmarks that sweep all of them).
inline constexpr DType kAllDTypes[] = {DType::kFloat32, DType::kBFloat16, DType::kFloat16, DType::kInt32,
                                       DType::kInt64};

// Reduction applied by all-reduce and reduce-scatter. kAvg divides the sum by the group size.
enum class ReduceOp : int { kSum = 0, kAvg = 1, kMax = 2 };

// Bytes per element of `dtype`.
size_t DTypeSize(DType dtype);

// Short lowercase name ("fp32", "bf16", "fp16", "int32", "int64").
absl::string_view DTypeName(DType dtype);

// Inverse of DTypeName; also accepts "float32", "bfloat16", "float16". Error names the unknown string.
absl::StatusOr<DType> ParseDType(absl::string_view name);

// Lowercase name ("sum", "avg", "max").
absl::string_view ReduceOpName(ReduceOp op);

// fp32 -> bf16 with round-to-nearest-even (NaN stays NaN).
uint16_t FloatToBFloat16(float value);
// bf16 -> fp32 (exact).
float BFloat16ToFloat(uint16_t value);
// fp32 -> IEEE fp16 with round-to-nearest-even, overflow to inf, subnormals kept.
uint16_t FloatToHalf(float value);
// IEEE fp16 -> fp32 (exact).
float HalfToFloat(uint16_t value);

}  // namespace kachi

#endif  // KACHI_KERNELS_BASE_DTYPE_H_
