// Residual connection: elementwise sum of two tensors of the same shape.
#ifndef KACHI_KERNELS_RESIDUAL_H_
#define KACHI_KERNELS_RESIDUAL_H_

#include <cstdint>

namespace kachi::cpu {

// out[i] = a[i] + b[i] for i in [0, n) (written; out may alias a or b).
template <typename T>
void ResidualForward(T* out, const T* a, const T* b, int64_t n);

// da[i] += dout[i] and db[i] += dout[i] for i in [0, n).
template <typename T>
void ResidualBackward(T* da, T* db, const T* dout, int64_t n);

}  // namespace kachi::cpu

#endif  // KACHI_KERNELS_RESIDUAL_H_
