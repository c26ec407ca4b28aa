// Storage type <-> float on the device (fp32 and bf16, round to nearest even), shared by every CUDA kernel file
// that converts elements (the cuda_memory helpers, cross entropy, the matmul epilogues, elementwise ops). Included
// by .cu files only.
#ifndef KACHI_KERNELS_FLOAT_CONVERT_CUH_
#define KACHI_KERNELS_FLOAT_CONVERT_CUH_

#include <cuda_bf16.h>

namespace kachi::cuda::internal {

// Storage type -> float.
__device__ __forceinline__ float ToFloat(float value) { return value; }
__device__ __forceinline__ float ToFloat(__nv_bfloat16 value) { return __bfloat162float(value); }

// float -> storage type (round to nearest even for bf16).
template <typename T>
__device__ __forceinline__ T FromFloat(float value);
template <>
__device__ __forceinline__ float FromFloat<float>(float value) {
  return value;
}
template <>
__device__ __forceinline__ __nv_bfloat16 FromFloat<__nv_bfloat16>(float value) {
  return __float2bfloat16_rn(value);
}

}  // namespace kachi::cuda::internal

#endif  // KACHI_KERNELS_FLOAT_CONVERT_CUH_
