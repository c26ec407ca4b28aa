// Epilogue fallback kernels for the CUDA matmuls (see matmul_epilogue_kernels_cuda.h). Elementwise kernels use a
// grid-stride loop; the column sums use a fixed summation order (deterministic).
#include "kernels/matmul_epilogue_kernels_cuda.h"

#include <cuda_bf16.h>

#include <algorithm>

#include "kernels/base/status_macros.h"
#include "kernels/float_convert.cuh"
#include "kernels/matmul_status_cuda.h"

namespace kachi::cuda::matmul_internal {
namespace {

constexpr int kThreads = 256;
// Enough blocks to fill a Hopper GPU several times over; grid-stride loops cover the rest.
constexpr int64_t kMaxBlocks = 132 * 16;

using internal::FromFloat;
using internal::ToFloat;

// GPT-2's tanh-approximation GELU constants (kernels/gelu.cc).
constexpr float kSqrtTwoOverPi = 0.7978845608028654f;
constexpr float kCubic = 0.044715f;

__device__ __forceinline__ float Gelu(float x) {
  return 0.5f * x * (1.0f + tanhf(kSqrtTwoOverPi * (x + kCubic * x * x * x)));
}

__device__ __forceinline__ float GeluDerivative(float x) {
  const float tanh_inner = tanhf(kSqrtTwoOverPi * (x + kCubic * x * x * x));
  const float sech_squared = 1.0f - tanh_inner * tanh_inner;
  return 0.5f * (1.0f + tanh_inner) + 0.5f * x * sech_squared * kSqrtTwoOverPi * (1.0f + 3.0f * kCubic * x * x);
}

// Blocks for a grid-stride loop over n elements.
int BlocksFor(int64_t n) {
  return static_cast<int>(std::max<int64_t>(1, std::min(kMaxBlocks, (n + kThreads - 1) / kThreads)));
}

template <typename T>
__global__ void BiasGeluKernel(T* pre, T* gelu_out, const T* bias, int64_t rows, int64_t cols) {
  const int64_t n = rows * cols;
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x) {
    float x = ToFloat(pre[i]);
    if (bias != nullptr) x += ToFloat(bias[i % cols]);
    pre[i] = FromFloat<T>(x);
    if (gelu_out != nullptr) gelu_out[i] = FromFloat<T>(Gelu(x));
  }
}

template <typename T>
__global__ void GeluBackwardInPlaceKernel(T* grad, const T* pre, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x) {
    grad[i] = FromFloat<T>(GeluDerivative(ToFloat(pre[i])) * ToFloat(grad[i]));
  }
}

// Column sums, stage 1: block (kSumColumns x kSumRowLanes) covers kSumColumns columns of one chunk of
// kChunkRows rows; lane y sums rows y, y + kSumRowLanes, ... of its column in order (a warp reads 32 neighbouring
// columns of one row), then lane 0 adds the lanes' sums in order into partial[chunk, col].
constexpr int kSumColumns = 32;
constexpr int kSumRowLanes = 8;
constexpr int64_t kChunkRows = 256;

template <typename T>
__global__ void ColumnChunkSumsKernel(float* partial, const T* matrix, int64_t rows, int64_t cols) {
  __shared__ float lanes[kSumRowLanes][kSumColumns + 1];
  const int64_t col = blockIdx.x * int64_t{kSumColumns} + threadIdx.x;
  const int64_t row_begin = blockIdx.y * kChunkRows;
  const int64_t row_end = min(rows, row_begin + kChunkRows);
  float sum = 0.0f;
  if (col < cols) {
    for (int64_t r = row_begin + threadIdx.y; r < row_end; r += kSumRowLanes) sum += ToFloat(matrix[r * cols + col]);
  }
  lanes[threadIdx.y][threadIdx.x] = sum;
  __syncthreads();
  if (threadIdx.y != 0 || col >= cols) return;
  float total = 0.0f;
  for (int lane = 0; lane < kSumRowLanes; ++lane) total += lanes[lane][threadIdx.x];
  partial[blockIdx.y * cols + col] = total;
}

// Stage 2: sums[col] += the chunks' partial sums in chunk order.
template <typename T>
__global__ void AddChunkSumsKernel(T* sums, const float* partial, int64_t chunks, int64_t cols) {
  const int64_t col = blockIdx.x * int64_t{blockDim.x} + threadIdx.x;
  if (col >= cols) return;
  float total = 0.0f;
  for (int64_t chunk = 0; chunk < chunks; ++chunk) total += partial[chunk * cols + col];
  sums[col] = FromFloat<T>(ToFloat(sums[col]) + total);
}

template <typename T>
__global__ void AccumulateVectorKernel(T* dst, const T* src, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x) {
    dst[i] = FromFloat<T>(ToFloat(dst[i]) + ToFloat(src[i]));
  }
}

}  // namespace

template <typename T>
absl::Status BiasGelu(T* pre, T* gelu_out, const T* bias, int64_t rows, int64_t cols, cudaStream_t stream) {
  if (rows * cols == 0) return absl::OkStatus();
  BiasGeluKernel<T><<<BlocksFor(rows * cols), kThreads, 0, stream>>>(pre, gelu_out, bias, rows, cols);
  return LaunchStatus("BiasGeluKernel");
}

template <typename T>
absl::Status GeluBackwardInPlace(T* grad, const T* pre, int64_t n, cudaStream_t stream) {
  if (n == 0) return absl::OkStatus();
  GeluBackwardInPlaceKernel<T><<<BlocksFor(n), kThreads, 0, stream>>>(grad, pre, n);
  return LaunchStatus("GeluBackwardInPlaceKernel");
}

int64_t ColumnSumScratchFloats(int64_t rows, int64_t cols) {
  return std::max<int64_t>(1, (rows + kChunkRows - 1) / kChunkRows) * cols;
}

template <typename T>
absl::Status AccumulateColumnSums(T* sums, const T* matrix, int64_t rows, int64_t cols, float* scratch,
                                  cudaStream_t stream) {
  if (cols == 0 || rows == 0) return absl::OkStatus();
  const int64_t chunks = (rows + kChunkRows - 1) / kChunkRows;
  if (chunks > 65535) {
    return absl::InvalidArgumentError("AccumulateColumnSums: more than 65535 chunks of rows (rows too large)");
  }
  const dim3 grid(static_cast<unsigned>((cols + kSumColumns - 1) / kSumColumns), static_cast<unsigned>(chunks));
  ColumnChunkSumsKernel<T><<<grid, dim3(kSumColumns, kSumRowLanes), 0, stream>>>(scratch, matrix, rows, cols);
  KACHI_RETURN_IF_ERROR(LaunchStatus("ColumnChunkSumsKernel"));
  AddChunkSumsKernel<T><<<static_cast<unsigned>((cols + kThreads - 1) / kThreads), kThreads, 0, stream>>>(
      sums, scratch, chunks, cols);
  return LaunchStatus("AddChunkSumsKernel");
}

template <typename T>
absl::Status AccumulateVector(T* dst, const T* src, int64_t n, cudaStream_t stream) {
  if (n == 0) return absl::OkStatus();
  AccumulateVectorKernel<T><<<BlocksFor(n), kThreads, 0, stream>>>(dst, src, n);
  return LaunchStatus("AccumulateVectorKernel");
}

#define KACHI_INSTANTIATE_EPILOGUE_KERNELS(T)                                                         \
  template absl::Status BiasGelu<T>(T*, T*, const T*, int64_t, int64_t, cudaStream_t);               \
  template absl::Status GeluBackwardInPlace<T>(T*, const T*, int64_t, cudaStream_t);                 \
  template absl::Status AccumulateColumnSums<T>(T*, const T*, int64_t, int64_t, float*, cudaStream_t); \
  template absl::Status AccumulateVector<T>(T*, const T*, int64_t, cudaStream_t);

KACHI_INSTANTIATE_EPILOGUE_KERNELS(float)
KACHI_INSTANTIATE_EPILOGUE_KERNELS(__nv_bfloat16)

#undef KACHI_INSTANTIATE_EPILOGUE_KERNELS

}  // namespace kachi::cuda::matmul_internal
