// CPU reference for the residual add (see residual.h).
#include "kernels/residual.h"

namespace kachi::cpu {

template <typename T>
void ResidualForward(T* out, const T* a, const T* b, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = a[i] + b[i];
}

template <typename T>
void ResidualBackward(T* da, T* db, const T* dout, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    da[i] += dout[i];
    db[i] += dout[i];
  }
}

template void ResidualForward<float>(float*, const float*, const float*, int64_t);
template void ResidualForward<double>(double*, const double*, const double*, int64_t);
template void ResidualBackward<float>(float*, float*, const float*, int64_t);
template void ResidualBackward<double>(double*, double*, const double*, int64_t);

}  // namespace kachi::cpu
