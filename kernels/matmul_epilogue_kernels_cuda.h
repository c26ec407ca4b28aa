// Small CUDA kernels that finish a matmul when cuBLASLt cannot fuse the epilogue (or fusion is switched off), and
// that fold cuBLASLt's written bias gradients into kachi's accumulated ones. GELU is GPT-2's tanh approximation
// (kernels/gelu.h). Elements are float or __nv_bfloat16, arithmetic in float.
#ifndef KACHI_KERNELS_MATMUL_EPILOGUE_KERNELS_CUDA_H_
#define KACHI_KERNELS_MATMUL_EPILOGUE_KERNELS_CUDA_H_

#include <cuda_runtime.h>

#include <cstdint>

#include "absl/status/status.h"

namespace kachi::cuda::matmul_internal {

// For a row-major [rows, cols] matrix `pre` holding a matmul result: x = pre + bias[col] (bias may be null);
// pre = x; and when `gelu_out` is not null, gelu_out = gelu(x) (computed from x before rounding to T).
template <typename T>
absl::Status BiasGelu(T* pre, T* gelu_out, const T* bias, int64_t rows, int64_t cols, cudaStream_t stream);

// grad[i] = gelu'(pre[i]) * grad[i] for i < n (the GELU backward, written in place over the incoming gradient).
template <typename T>
absl::Status GeluBackwardInPlace(T* grad, const T* pre, int64_t n, cudaStream_t stream);

// Floats of scratch AccumulateColumnSums needs for a [rows, cols] matrix (one partial sum per row chunk and column).
int64_t ColumnSumScratchFloats(int64_t rows, int64_t cols);

// sums[c] += sum_r matrix[r, c] for a row-major [rows, cols] matrix (bias gradient): chunks of rows summed in
// parallel into `scratch` (ColumnSumScratchFloats floats), then the chunks in order. Fixed order: deterministic.
template <typename T>
absl::Status AccumulateColumnSums(T* sums, const T* matrix, int64_t rows, int64_t cols, float* scratch,
                                  cudaStream_t stream);

// dst[i] += src[i] for i < n.
template <typename T>
absl::Status AccumulateVector(T* dst, const T* src, int64_t n, cudaStream_t stream);

}  // namespace kachi::cuda::matmul_internal

#endif  // KACHI_KERNELS_MATMUL_EPILOGUE_KERNELS_CUDA_H_
