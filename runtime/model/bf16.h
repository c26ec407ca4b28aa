// Bf16: a bfloat16 value as host code stores it (the bits of the upper half of an IEEE fp32), layout-compatible with
// CUDA's __nv_bfloat16, plus the conversions of kernels/base/dtype.h (round to nearest even; NaN stays NaN).
#ifndef KACHI_RUNTIME_MODEL_BF16_H_
#define KACHI_RUNTIME_MODEL_BF16_H_

#include <cstdint>

#include "kernels/base/dtype.h"

namespace kachi {

// One bfloat16 value.
struct Bf16 {
  uint16_t bits = 0;
};
static_assert(sizeof(Bf16) == 2, "Bf16 is two bytes");

// fp32 -> bf16 (round to nearest even) and back (exact).
inline Bf16 ToBf16(float value) { return Bf16{FloatToBFloat16(value)}; }
inline float ToFloat(Bf16 value) { return BFloat16ToFloat(value.bits); }

}  // namespace kachi

#endif  // KACHI_RUNTIME_MODEL_BF16_H_
