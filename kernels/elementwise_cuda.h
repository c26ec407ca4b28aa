// CUDA elementwise helpers the model needs besides the named ops: fill, scale, and the residual add
// (kachi::cpu::ResidualForward's twin). float and __nv_bfloat16.
#ifndef KACHI_KERNELS_ELEMENTWISE_CUDA_H_
#define KACHI_KERNELS_ELEMENTWISE_CUDA_H_

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

}  // namespace kachi::cuda

#endif  // KACHI_KERNELS_ELEMENTWISE_CUDA_H_
