// CPU reference of the fused matmul + GELU ops (see matmul_gelu.h): compositions of the matmul and GELU twins.
#include "kernels/matmul_gelu.h"

#include <cstddef>
#include <vector>

#include "kernels/gelu.h"
#include "kernels/matmul.h"

namespace kachi::cpu {

template <typename T>
void MatmulGeluForward(T* out, T* pre_gelu, const T* in, const T* weight, const T* bias, int64_t rows,
                       int64_t in_channels, int64_t out_channels) {
  MatmulForward(pre_gelu, in, weight, bias, rows, in_channels, out_channels);
  GeluForward(out, pre_gelu, rows * out_channels);
}

template <typename T>
void MatmulBackwardThroughGelu(T* dpre_gelu, T* dpre_bias, T* dweight, T* dbias, const T* dout, const T* in,
                               const T* weight, const T* pre_gelu, int64_t rows, int64_t in_channels,
                               int64_t out_channels) {
  const int64_t count = rows * in_channels;
  std::vector<T> din(static_cast<size_t>(count), T(0));
  MatmulBackward(din.data(), dweight, dbias, dout, in, weight, rows, in_channels, out_channels);
  for (int64_t i = 0; i < count; ++i) dpre_gelu[i] = T(0);
  GeluBackward(dpre_gelu, pre_gelu, din.data(), count);
  if (dpre_bias == nullptr) return;
  std::vector<T> sums(static_cast<size_t>(in_channels), T(0));
  for (int64_t r = 0; r < rows; ++r) {
    const T* row = dpre_gelu + r * in_channels;
    for (int64_t c = 0; c < in_channels; ++c) sums[c] += row[c];
  }
  for (int64_t c = 0; c < in_channels; ++c) dpre_bias[c] += sums[c];
}

#define KACHI_INSTANTIATE(T)                                                                                   \
  template void MatmulGeluForward<T>(T*, T*, const T*, const T*, const T*, int64_t, int64_t, int64_t);         \
  template void MatmulBackwardThroughGelu<T>(T*, T*, T*, T*, const T*, const T*, const T*, const T*, int64_t, \
                                             int64_t, int64_t);
KACHI_INSTANTIATE(float)
KACHI_INSTANTIATE(double)
#undef KACHI_INSTANTIATE

}  // namespace kachi::cpu
