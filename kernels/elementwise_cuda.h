// CUDA elementwise helpers the model needs besides the named ops: fill, scale, and the residual add
// (kachi::cpu::ResidualForward's twin), and fp32 <-> bf16 conversion (mixed precision's master -> working copy).
// float and __nv_bfloat16.
#ifndef KACHI_KERNELS_ELEMENTWISE_CUDA_H_
#define KACHI_KERNELS_ELEMENTWISE_CUDA_H_

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "absl/status/status.h"

namespace kachi::cuda {

// data[i] = value for i in [0, n).
template <typename T>
absl::Status Fill(T* data, float value, int64_t n, cudaStream_t stream);

// data[i] *= scale for i in [0, n).
template <typename T>
absl::Status Scale(T* data, float scale, int64_t n, cudaStream_t stream);

// out[i] = a[i] + b[i] for i in [0, n) (out may alias a or b).
template <typename T>
absl::Status ResidualForward(T* out, const T* a, const T* b, int64_t n, cudaStream_t stream);

// out[i] = bf16(in[i]) (round to nearest even) and out[i] = float(in[i]) (exact), i in [0, n).
absl::Status ConvertToBf16(__nv_bfloat16* out, const float* in, int64_t n, cudaStream_t stream);
absl::Status ConvertToFloat(float* out, const __nv_bfloat16* in, int64_t n, cudaStream_t stream);

}  // namespace kachi::cuda

#endif  // KACHI_KERNELS_ELEMENTWISE_CUDA_H_
