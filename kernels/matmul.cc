// CPU reference matmul (see matmul.h). The forward computes 4x4 tiles of output dot products with kLanes partial
// sums each (inputs and weight rows are both contiguous along in_channels), which the compiler keeps in vector
// registers; the backward passes are axpy loops over contiguous rows, blocked by 4 so each streamed row is
// reused four times from cache.
#include "kernels/matmul.h"

#include "kernels/vector_ops.h"

namespace kachi::cpu {
namespace {

using internal::kLanes;

// out[r * out_stride + o] = dot(in[r, :], weight[o, :]) (+ bias[o]) for r < kRows, o < kCols.
template <typename T, int kRows, int kCols>
inline void DotTile(T* out, int64_t out_stride, const T* in, const T* weight, const T* bias, int64_t in_channels) {
  T acc[kRows][kCols][kLanes] = {};
  int64_t k = 0;
  for (; k + kLanes <= in_channels; k += kLanes) {
    for (int r = 0; r < kRows; ++r) {
      for (int o = 0; o < kCols; ++o) {
        for (int l = 0; l < kLanes; ++l) acc[r][o][l] += in[r * in_channels + k + l] * weight[o * in_channels + k + l];
      }
    }
  }
  for (int r = 0; r < kRows; ++r) {
    for (int o = 0; o < kCols; ++o) {
      T sum = internal::SumLanes(acc[r][o]);
      for (int64_t kk = k; kk < in_channels; ++kk) sum += in[r * in_channels + kk] * weight[o * in_channels + kk];
      out[r * out_stride + o] = bias != nullptr ? sum + bias[o] : sum;
    }
  }
}

// Output rows [row_begin, row_begin + kRows) for all columns: 4-wide column tiles, then single columns.
template <typename T, int kRows>
inline void ForwardRows(T* out, const T* in, const T* weight, const T* bias, int64_t row_begin, int64_t in_channels,
                        int64_t out_channels) {
  const T* in_rows = in + row_begin * in_channels;
  T* out_rows = out + row_begin * out_channels;
  int64_t o = 0;
  for (; o + 4 <= out_channels; o += 4) {
    DotTile<T, kRows, 4>(out_rows + o, out_channels, in_rows, weight + o * in_channels,
                         bias != nullptr ? bias + o : nullptr, in_channels);
  }
  for (; o < out_channels; ++o) {
    DotTile<T, kRows, 1>(out_rows + o, out_channels, in_rows, weight + o * in_channels,
                         bias != nullptr ? bias + o : nullptr, in_channels);
  }
}

// dst[d][:] += scale[d] * src[:] for kDst destination rows of length n (one pass over src).
template <typename T, int kDst>
inline void MultiAxpy(T* const (&dst)[kDst], const T (&scale)[kDst], const T* __restrict src, int64_t n) {
  for (int64_t k = 0; k < n; ++k) {
    const T s = src[k];
    for (int d = 0; d < kDst; ++d) dst[d][k] += scale[d] * s;
  }
}

// din[n, :] += sum_o dout[n, o] * weight[o, :], four rows of din per pass over the weights.
template <typename T>
void InputGradient(T* din, const T* dout, const T* weight, int64_t rows, int64_t in_channels, int64_t out_channels) {
  int64_t n = 0;
  for (; n + 4 <= rows; n += 4) {
    T* const dst[4] = {din + n * in_channels, din + (n + 1) * in_channels, din + (n + 2) * in_channels,
                       din + (n + 3) * in_channels};
    for (int64_t o = 0; o < out_channels; ++o) {
      const T scale[4] = {dout[n * out_channels + o], dout[(n + 1) * out_channels + o],
                          dout[(n + 2) * out_channels + o], dout[(n + 3) * out_channels + o]};
      MultiAxpy<T, 4>(dst, scale, weight + o * in_channels, in_channels);
    }
  }
  for (; n < rows; ++n) {
    for (int64_t o = 0; o < out_channels; ++o) {
      internal::Axpy(din + n * in_channels, dout[n * out_channels + o], weight + o * in_channels, in_channels);
    }
  }
}

// dweight[o, :] += sum_n dout[n, o] * in[n, :], four weight rows per pass over the inputs.
template <typename T>
void WeightGradient(T* dweight, const T* dout, const T* in, int64_t rows, int64_t in_channels, int64_t out_channels) {
  int64_t o = 0;
  for (; o + 4 <= out_channels; o += 4) {
    T* const dst[4] = {dweight + o * in_channels, dweight + (o + 1) * in_channels, dweight + (o + 2) * in_channels,
                       dweight + (o + 3) * in_channels};
    for (int64_t n = 0; n < rows; ++n) {
      const T* dout_row = dout + n * out_channels + o;
      const T scale[4] = {dout_row[0], dout_row[1], dout_row[2], dout_row[3]};
      MultiAxpy<T, 4>(dst, scale, in + n * in_channels, in_channels);
    }
  }
  for (; o < out_channels; ++o) {
    for (int64_t n = 0; n < rows; ++n) {
      internal::Axpy(dweight + o * in_channels, dout[n * out_channels + o], in + n * in_channels, in_channels);
    }
  }
}

}  // namespace

template <typename T>
void MatmulForward(T* out, const T* in, const T* weight, const T* bias, int64_t rows, int64_t in_channels,
                   int64_t out_channels) {
  int64_t n = 0;
  for (; n + 4 <= rows; n += 4) ForwardRows<T, 4>(out, in, weight, bias, n, in_channels, out_channels);
  for (; n < rows; ++n) ForwardRows<T, 1>(out, in, weight, bias, n, in_channels, out_channels);
}

template <typename T>
void MatmulBackward(T* din, T* dweight, T* dbias, const T* dout, const T* in, const T* weight, int64_t rows,
                    int64_t in_channels, int64_t out_channels) {
  if (din != nullptr) InputGradient(din, dout, weight, rows, in_channels, out_channels);
  WeightGradient(dweight, dout, in, rows, in_channels, out_channels);
  if (dbias != nullptr) {
    for (int64_t n = 0; n < rows; ++n) internal::Axpy(dbias, T(1), dout + n * out_channels, out_channels);
  }
}

template void MatmulForward<float>(float*, const float*, const float*, const float*, int64_t, int64_t, int64_t);
template void MatmulForward<double>(double*, const double*, const double*, const double*, int64_t, int64_t, int64_t);
template void MatmulBackward<float>(float*, float*, float*, const float*, const float*, const float*, int64_t, int64_t,
                                    int64_t);
template void MatmulBackward<double>(double*, double*, double*, const double*, const double*, const double*, int64_t,
                                     int64_t, int64_t);

}  // namespace kachi::cpu
