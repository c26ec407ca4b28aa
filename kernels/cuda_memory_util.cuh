// Helpers private to the memory-bound CUDA kernels (family cuda_memory): CUDA error checking into absl::Status,
// float <-> storage-type conversion, 16-byte vector packs, deterministic warp/block reductions, and the chunk
// lookup shared by the multi-tensor kernels. Included by .cu files only.
#ifndef KACHI_KERNELS_CUDA_MEMORY_UTIL_CUH_
#define KACHI_KERNELS_CUDA_MEMORY_UTIL_CUH_

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "kernels/base/cuda_status.h"
#include "kernels/float_convert.cuh"  // ToFloat, FromFloat

namespace kachi::cuda::internal {

// CUDA errors and the last launch as absl::Status (kernels/base/cuda_status.h).
using ::kachi::base::CudaStatus;
using ::kachi::base::LaunchStatus;

// Returns from the enclosing function with the error when a CUDA call fails.
#define KACHI_CUDA_RETURN_IF_ERROR(call)                                                   \
  do {                                                                                     \
    const absl::Status kachi_cuda_status_ = ::kachi::cuda::internal::CudaStatus((call), #call); \
    if (!kachi_cuda_status_.ok()) return kachi_cuda_status_;                               \
  } while (0)

// Returns from the enclosing function with the error when the last launch of `kernel` failed.
#define KACHI_CUDA_RETURN_IF_LAUNCH_FAILED(kernel)                                          \
  do {                                                                                     \
    const absl::Status kachi_launch_status_ = ::kachi::cuda::internal::LaunchStatus(kernel); \
    if (!kachi_launch_status_.ok()) return kachi_launch_status_;                           \
  } while (0)

// True when `pointer` sits on a 16-byte boundary (null counts as aligned: it is never dereferenced).
__host__ __device__ inline bool IsAligned16(const void* pointer) { return reinterpret_cast<uintptr_t>(pointer) % 16 == 0; }

// Blocks needed to cover `work` items with `per_block` items each.
__host__ __device__ inline int64_t CeilDiv(int64_t work, int64_t per_block) { return (work + per_block - 1) / per_block; }

// quotient = a / b and remainder = a % b for 0 <= a, 0 < b, in 32-bit arithmetic when both fit (a 64-bit
// division costs dozens of instructions, enough to slow an elementwise kernel).
__device__ __forceinline__ void DivMod(int64_t a, int64_t b, int64_t& quotient, int64_t& remainder) {
  if (a <= UINT32_MAX && b <= UINT32_MAX) {
    const uint32_t q = static_cast<uint32_t>(a) / static_cast<uint32_t>(b);
    quotient = q;
    remainder = static_cast<uint32_t>(a) - q * static_cast<uint32_t>(b);
  } else {
    quotient = a / b;
    remainder = a - quotient * b;
  }
}

// Elements of T in one 16-byte access.
template <typename T>
inline constexpr int kVec16 = 16 / static_cast<int>(sizeof(T));

// VEC elements of T loaded or stored as one access (16 bytes when VEC == kVec16<T>).
template <typename T, int VEC>
struct alignas(sizeof(T) * VEC) Pack {
  T values[VEC];
};

// Loads VEC consecutive elements at `source` (aligned to the pack size) as floats.
template <int VEC, typename T>
__device__ __forceinline__ void LoadFloats(float (&out)[VEC], const T* source) {
  const Pack<T, VEC> pack = *reinterpret_cast<const Pack<T, VEC>*>(source);
#pragma unroll
  for (int k = 0; k < VEC; ++k) out[k] = ToFloat(pack.values[k]);
}

// Stores VEC floats, converted to T, at `target` (aligned to the pack size).
template <int VEC, typename T>
__device__ __forceinline__ void StoreFloats(T* target, const float (&in)[VEC]) {
  Pack<T, VEC> pack;
#pragma unroll
  for (int k = 0; k < VEC; ++k) pack.values[k] = FromFloat<T>(in[k]);
  *reinterpret_cast<Pack<T, VEC>*>(target) = pack;
}

// Sum over the 32 lanes of a warp by a fixed butterfly (every lane gets the same, run-to-run identical result).
template <typename A>
__device__ __forceinline__ A WarpSum(A value) {
#pragma unroll
  for (int offset = 16; offset > 0; offset >>= 1) value += __shfl_xor_sync(0xffffffffu, value, offset);
  return value;
}

// Sum over a block of blockDim.x threads (a multiple of 32, at most 1024): warp butterflies, then warp 0 sums
// the warp totals in a fixed order. Valid in thread 0 only; `scratch` holds 32 values. Ends with a barrier so
// `scratch` may be reused.
template <typename A>
__device__ __forceinline__ A BlockSum(A value, A* scratch) {
  const int lane = threadIdx.x % 32;
  const int warp = threadIdx.x / 32;
  value = WarpSum(value);
  if (lane == 0) scratch[warp] = value;
  __syncthreads();
  A total = 0;
  if (warp == 0) {
    const int warps = blockDim.x / 32;
    total = lane < warps ? scratch[lane] : A(0);
    total = WarpSum(total);
  }
  __syncthreads();
  return total;
}

// Index of the tensor that owns global chunk `chunk` in a multi-tensor table: entries[t].chunk_begin is the
// first chunk of tensor t (ascending, entries[0].chunk_begin == 0). Binary search over `count` entries.
template <typename Entry>
__device__ __forceinline__ int FindTensorOfChunk(const Entry* entries, int count, int64_t chunk) {
  int low = 0;
  int high = count - 1;
  while (low < high) {
    const int middle = (low + high + 1) / 2;
    if (entries[middle].chunk_begin <= chunk) {
      low = middle;
    } else {
      high = middle - 1;
    }
  }
  return low;
}

}  // namespace kachi::cuda::internal

#endif  // KACHI_KERNELS_CUDA_MEMORY_UTIL_CUH_
