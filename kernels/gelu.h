// GELU activation with GPT-2's tanh approximation:
//   gelu(x) = 0.5 * x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 * x^3))).
// Elementwise, so tensor-parallel callers apply it to their local shard as is.
#ifndef KACHI_KERNELS_GELU_H_
#define KACHI_KERNELS_GELU_H_

#include <cstdint>

namespace kachi::cpu {

// out[i] = gelu(in[i]) for i in [0, n) (written).
template <typename T>
void GeluForward(T* out, const T* in, int64_t n);

// din[i] += gelu'(in[i]) * dout[i] for i in [0, n).
template <typename T>
void GeluBackward(T* din, const T* in, const T* dout, int64_t n);

}  // namespace kachi::cpu

#endif  // KACHI_KERNELS_GELU_H_
