// CUDA twin of kernels/layernorm.h (eps 1e-5): LayerNorm forward and backward over [rows, channels], activations in
// T (float or __nv_bfloat16), statistics mean/rstd in fp32. The kernels are those of the fused residual version
// (residual_layernorm_cuda.h), whose notes on determinism apply here too.
#ifndef KACHI_KERNELS_LAYERNORM_CUDA_H_
#define KACHI_KERNELS_LAYERNORM_CUDA_H_

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

#include "absl/status/status.h"

namespace kachi::cuda {

// out = (in - mean) * rstd * weight + bias (written); mean, rstd: fp32 [rows] (written); on `stream`.
template <typename T>
absl::Status LayerNormForward(T* out, float* mean, float* rstd, const T* in, const T* weight, const T* bias,
                              int64_t rows, int64_t channels, cudaStream_t stream);

// din, dweight, dbias += the gradients of LayerNormForward, from dout and the forward's in, weight, mean, rstd.
// `workspace`: device memory of at least LayerNormBackwardWorkspaceBytes(rows, channels) bytes.
template <typename T>
absl::Status LayerNormBackward(T* din, T* dweight, T* dbias, const T* dout, const T* in, const T* weight,
                               const float* mean, const float* rstd, int64_t rows, int64_t channels, void* workspace,
                               size_t workspace_bytes, cudaStream_t stream);

// Same, with the workspace allocated and freed stream-ordered on `stream`.
template <typename T>
absl::Status LayerNormBackward(T* din, T* dweight, T* dbias, const T* dout, const T* in, const T* weight,
                               const float* mean, const float* rstd, int64_t rows, int64_t channels,
                               cudaStream_t stream);

}  // namespace kachi::cuda

#endif  // KACHI_KERNELS_LAYERNORM_CUDA_H_
