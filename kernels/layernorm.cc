// CPU reference for LayerNorm (see layernorm.h). Row statistics use fixed-order lane sums so the loops vectorize.
#include "kernels/layernorm.h"

#include <cmath>

#include "kernels/vector_ops.h"

namespace kachi::cpu {

template <typename T>
void LayerNormForward(T* out, T* mean, T* rstd, const T* in, const T* weight, const T* bias, int64_t rows,
                      int64_t channels) {
  const T inv_channels = T(1) / static_cast<T>(channels);
  for (int64_t r = 0; r < rows; ++r) {
    const T* x = in + r * channels;
    T* y = out + r * channels;
    const T row_mean = internal::Sum(x, channels) * inv_channels;
    const T variance =
        internal::LaneSum<T>(channels, [x, row_mean](int64_t c) { return (x[c] - row_mean) * (x[c] - row_mean); }) *
        inv_channels;
    const T row_rstd = T(1) / std::sqrt(variance + static_cast<T>(kLayerNormEps));
    for (int64_t c = 0; c < channels; ++c) y[c] = (x[c] - row_mean) * row_rstd * weight[c] + bias[c];
    mean[r] = row_mean;
    rstd[r] = row_rstd;
  }
}

template <typename T>
void LayerNormBackward(T* din, T* dweight, T* dbias, const T* dout, const T* in, const T* weight, const T* mean,
                       const T* rstd, int64_t rows, int64_t channels) {
  const T inv_channels = T(1) / static_cast<T>(channels);
  for (int64_t r = 0; r < rows; ++r) {
    const T* x = in + r * channels;
    const T* dy = dout + r * channels;
    T* dx = din + r * channels;
    const T row_mean = mean[r];
    const T row_rstd = rstd[r];
    // dnorm = weight * dy; the input gradient needs mean(dnorm) and mean(dnorm * norm).
    const T dnorm_mean = internal::Dot(weight, dy, channels) * inv_channels;
    const T dnorm_norm_mean =
        internal::LaneSum<T>(channels, [=](int64_t c) { return weight[c] * dy[c] * ((x[c] - row_mean) * row_rstd); }) *
        inv_channels;
    for (int64_t c = 0; c < channels; ++c) {
      const T norm = (x[c] - row_mean) * row_rstd;
      const T dnorm = weight[c] * dy[c];
      dbias[c] += dy[c];
      dweight[c] += norm * dy[c];
      dx[c] += (dnorm - dnorm_mean - norm * dnorm_norm_mean) * row_rstd;
    }
  }
}

template void LayerNormForward<float>(float*, float*, float*, const float*, const float*, const float*, int64_t,
                                      int64_t);
template void LayerNormForward<double>(double*, double*, double*, const double*, const double*, const double*, int64_t,
                                       int64_t);
template void LayerNormBackward<float>(float*, float*, float*, const float*, const float*, const float*, const float*,
                                       const float*, int64_t, int64_t);
template void LayerNormBackward<double>(double*, double*, double*, const double*, const double*, const double*,
                                        const double*, const double*, int64_t, int64_t);

}  // namespace kachi::cpu
