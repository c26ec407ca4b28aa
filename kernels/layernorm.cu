// CUDA LayerNorm (see layernorm_cuda.h): the fused residual kernels with no residual operand.
#include "kernels/layernorm_cuda.h"

#include "kernels/residual_layernorm_cuda.h"

namespace kachi::cuda {

template <typename T>
absl::Status LayerNormForward(T* out, float* mean, float* rstd, const T* in, const T* weight, const T* bias,
                              int64_t rows, int64_t channels, cudaStream_t stream) {
  return internal::LaunchLayerNormForward<T>(nullptr, out, mean, rstd, in, nullptr, weight, bias, rows, channels,
                                             stream);
}

template <typename T>
absl::Status LayerNormBackward(T* din, T* dweight, T* dbias, const T* dout, const T* in, const T* weight,
                               const float* mean, const float* rstd, int64_t rows, int64_t channels, void* workspace,
                               size_t workspace_bytes, cudaStream_t stream) {
  return ResidualLayerNormBackward(din, din, dweight, dbias, dout, in, weight, mean, rstd, rows, channels, workspace,
                                   workspace_bytes, stream);
}

template <typename T>
absl::Status LayerNormBackward(T* din, T* dweight, T* dbias, const T* dout, const T* in, const T* weight,
                               const float* mean, const float* rstd, int64_t rows, int64_t channels,
                               cudaStream_t stream) {
  return ResidualLayerNormBackward(din, din, dweight, dbias, dout, in, weight, mean, rstd, rows, channels, stream);
}

#define KACHI_INSTANTIATE_LAYERNORM(T)                                                                           \
  template absl::Status LayerNormForward<T>(T*, float*, float*, const T*, const T*, const T*, int64_t, int64_t,  \
                                            cudaStream_t);                                                       \
  template absl::Status LayerNormBackward<T>(T*, T*, T*, const T*, const T*, const T*, const float*, const float*, \
                                             int64_t, int64_t, void*, size_t, cudaStream_t);                     \
  template absl::Status LayerNormBackward<T>(T*, T*, T*, const T*, const T*, const T*, const float*, const float*, \
                                             int64_t, int64_t, cudaStream_t);
KACHI_INSTANTIATE_LAYERNORM(float)
KACHI_INSTANTIATE_LAYERNORM(__nv_bfloat16)
#undef KACHI_INSTANTIATE_LAYERNORM

}  // namespace kachi::cuda
