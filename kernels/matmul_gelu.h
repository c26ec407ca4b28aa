// The MLP's matmul + GELU pair fused into one op each way: the CPU reference twins of cuda::MatmulGeluForward and
// cuda::MatmulBackwardThroughGelu (kernels/matmul_cuda.h), defined as the composition of cpu::MatmulForward /
// MatmulBackward (kernels/matmul.h) and cpu::GeluForward / GeluBackward (kernels/gelu.h), with the same layouts.
#ifndef KACHI_KERNELS_MATMUL_GELU_H_
#define KACHI_KERNELS_MATMUL_GELU_H_

#include <cstdint>

namespace kachi::cpu {

// pre_gelu = in @ weight^T + bias and out = gelu(pre_gelu), both [rows, out_channels], both written (bias may be
// null).
template <typename T>
void MatmulGeluForward(T* out, T* pre_gelu, const T* in, const T* weight, const T* bias, int64_t rows,
                       int64_t in_channels, int64_t out_channels);

// Backward of a matmul whose input is in = gelu(pre_gelu), with the GELU backward folded in:
//   dpre_gelu  = gelu'(pre_gelu) * (dout @ weight)     WRITTEN [rows, in_channels]
//   dpre_bias += column sums of dpre_gelu, rows in order (the bias gradient of the layer that made pre_gelu; skipped
//                when null)
//   dweight   += dout^T @ in, dbias += column sums of dout (as MatmulBackward; dbias may be null).
template <typename T>
void MatmulBackwardThroughGelu(T* dpre_gelu, T* dpre_bias, T* dweight, T* dbias, const T* dout, const T* in,
                               const T* weight, const T* pre_gelu, int64_t rows, int64_t in_channels,
                               int64_t out_channels);

}  // namespace kachi::cpu

#endif  // KACHI_KERNELS_MATMUL_GELU_H_
