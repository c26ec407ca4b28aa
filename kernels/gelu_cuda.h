// CUDA twin of kernels/gelu.h: GELU with GPT-2's tanh approximation, elementwise, for paths that do not fuse it
// into a matmul epilogue. Arithmetic in fp32 whatever the storage type; 16-byte accesses when every pointer is
// 16-byte aligned (scalar tail for the last n % vector-width elements), scalar accesses otherwise.
#ifndef KACHI_KERNELS_GELU_CUDA_H_
#define KACHI_KERNELS_GELU_CUDA_H_

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "absl/status/status.h"

namespace kachi::cuda {

// out[i] = gelu(in[i]) for i in [0, n) (written), enqueued on `stream`. T: float or __nv_bfloat16.
template <typename T>
absl::Status GeluForward(T* out, const T* in, int64_t n, cudaStream_t stream);

// din[i] += gelu'(in[i]) * dout[i] for i in [0, n) (accumulated), enqueued on `stream`.
template <typename T>
absl::Status GeluBackward(T* din, const T* in, const T* dout, int64_t n, cudaStream_t stream);

}  // namespace kachi::cuda

#endif  // KACHI_KERNELS_GELU_CUDA_H_
