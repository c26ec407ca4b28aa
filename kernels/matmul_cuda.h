// CUDA twin of kernels/matmul.h through cuBLASLt, with the epilogues a GPT-2 MLP needs fused into the matmuls:
// bias, GELU (keeping the pre-activation for the backward), the bias gradient, and the GELU backward. Same math and
// layouts as kachi::cpu::MatmulForward / MatmulBackward (in [rows, in_channels], weight [out_channels,
// in_channels], out [rows, out_channels], row-major); T is float or __nv_bfloat16 (fp32 accumulation). All device
// pointers; work is enqueued on `stream` and uses MatmulContext::ForStream(stream) (kernels/matmul_context_cuda.h),
// whose options choose TF32 for float and can switch epilogue fusion off. When cuBLASLt has no algorithm for an
// epilogue, the matmul runs plain and a kachi kernel finishes the epilogue (same results; counted in the context).
// Tensor-parallel use is the CPU twin's (see kernels/matmul.h).
#ifndef KACHI_KERNELS_MATMUL_CUDA_H_
#define KACHI_KERNELS_MATMUL_CUDA_H_

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "absl/status/status.h"
#include "kernels/matmul_context_cuda.h"

namespace kachi::cuda {

// out = in @ weight^T + bias (written; bias may be null). cuBLASLt epilogue BIAS.
template <typename T>
absl::Status MatmulForward(T* out, const T* in, const T* weight, const T* bias, int64_t rows, int64_t in_channels,
                           int64_t out_channels, cudaStream_t stream);

// pre_gelu = in @ weight^T + bias and out = gelu(pre_gelu) in one call (both written; bias may be null), GPT-2's
// tanh GELU. cuBLASLt epilogue GELU_AUX_BIAS (GELU_AUX without bias). pre_gelu is the epilogue's aux matrix, so
// out_channels must be a multiple of 8 (InvalidArgument otherwise; use MatmulForward and a GELU kernel then).
template <typename T>
absl::Status MatmulGeluForward(T* out, T* pre_gelu, const T* in, const T* weight, const T* bias, int64_t rows,
                               int64_t in_channels, int64_t out_channels, cudaStream_t stream);

// The CPU twin's backward: accumulates (+=) din = dout @ weight (skipped when null), dweight = dout^T @ in (beta 1)
// and dbias = column sums of dout (skipped when null; cuBLASLt epilogue BGRADB on the dweight matmul).
template <typename T>
absl::Status MatmulBackward(T* din, T* dweight, T* dbias, const T* dout, const T* in, const T* weight, int64_t rows,
                            int64_t in_channels, int64_t out_channels, cudaStream_t stream);

// Backward of a layer whose input is in = gelu(pre_gelu) (the MLP projection after MatmulGeluForward), with the GELU
// backward fused into the input-gradient matmul (cuBLASLt epilogue DGELU; dpre_bias by a kachi column-sum kernel,
// or by DGELU_BGRAD when EpilogueFusion::gelu_bias_gradient is set, which measured slower on an H100):
//   dpre_gelu  = gelu'(pre_gelu) * (dout @ weight)           WRITTEN [rows, in_channels] (the gradient starts here)
//   dpre_bias += column sums of dpre_gelu                    (the producing layer's bias gradient; skipped if null)
//   dweight   += dout^T @ in,  dbias += column sums of dout  (as MatmulBackward; dbias may be null)
// pre_gelu [rows, in_channels] is the aux matrix, so in_channels must be a multiple of 8 (InvalidArgument
// otherwise). Equal to MatmulBackward into a zeroed din followed by cpu::GeluBackward into a zeroed dpre_gelu.
template <typename T>
absl::Status MatmulBackwardThroughGelu(T* dpre_gelu, T* dpre_bias, T* dweight, T* dbias, const T* dout, const T* in,
                                       const T* weight, const T* pre_gelu, int64_t rows, int64_t in_channels,
                                       int64_t out_channels, cudaStream_t stream);

}  // namespace kachi::cuda

#endif  // KACHI_KERNELS_MATMUL_CUDA_H_
