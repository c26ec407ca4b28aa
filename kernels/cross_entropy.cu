// CUDA softmax cross-entropy pieces (see cross_entropy_cuda.h). One block per row; each thread walks the row with
// 16-byte vectors (8 bf16 or 4 floats; a scalar head up to the first 16-byte boundary and a scalar tail make any
// row length and alignment work), kUnroll vectors loaded before any is used. exp(x - max) is computed as
// exp2(x * log2(e) - max * log2(e)) (one FFMA and one MUFU.EX2).
#include "kernels/cross_entropy_cuda.h"

#include <cfloat>
#include <cmath>
#include <cstdint>
#include <initializer_list>

#include "absl/strings/str_cat.h"
#include "kernels/base/status_macros.h"
#include "kernels/float_convert.cuh"
#include "kernels/matmul_status_cuda.h"

namespace kachi::cuda {
namespace {

using matmul_internal::LaunchStatus;

constexpr int kRowThreads = 512;
constexpr int kUnroll = 4;
constexpr float kLog2E = 1.4426950408889634f;

using internal::FromFloat;
using internal::ToFloat;

// Elements of T in one 16-byte vector.
template <typename T>
constexpr int kWidth = 16 / sizeof(T);

// The kWidth elements of a 16-byte vector as floats.
template <typename T>
__device__ __forceinline__ void Unpack(const uint4& vector, float (&out)[kWidth<T>]) {
  const T* elements = reinterpret_cast<const T*>(&vector);
#pragma unroll
  for (int j = 0; j < kWidth<T>; ++j) out[j] = ToFloat(elements[j]);
}

// kWidth floats rounded to T and packed into a 16-byte vector.
template <typename T>
__device__ __forceinline__ uint4 Pack(const float (&values)[kWidth<T>]) {
  uint4 vector;
  T* elements = reinterpret_cast<T*>(&vector);
#pragma unroll
  for (int j = 0; j < kWidth<T>; ++j) elements[j] = FromFloat<T>(values[j]);
  return vector;
}

// Unpacks loaded[u], vector v + u * blockDim.x of a row body that starts `head` elements into the row, into x;
// returns the row index of its first element.
template <typename T>
__device__ __forceinline__ int64_t UnpackUnrolled(const uint4 (&loaded)[kUnroll], int u, int64_t v, int64_t head,
                                                  float (&x)[kWidth<T>]) {
  Unpack<T>(loaded[u], x);
  return head + (v + u * int64_t{blockDim.x}) * kWidth<T>;
}

// Elements before the first 16-byte boundary of `row` (rows of odd length start anywhere), at most n.
template <typename T>
__device__ __forceinline__ int64_t HeadLength(const T* row, int64_t n) {
  const int64_t misaligned_bytes = reinterpret_cast<uintptr_t>(row) % 16;
  const int64_t head = misaligned_bytes == 0 ? 0 : (16 - misaligned_bytes) / static_cast<int64_t>(sizeof(T));
  return head < n ? head : n;
}

// Calls visit(c, logits_row[c] as float) for every c < n this thread owns (block-strided).
template <typename T, typename Visit>
__device__ __forceinline__ void VisitRow(const T* __restrict__ row, int64_t n, Visit&& visit) {
  constexpr int W = kWidth<T>;
  const int64_t head = HeadLength(row, n);
  for (int64_t c = threadIdx.x; c < head; c += blockDim.x) visit(c, ToFloat(row[c]));
  const int64_t vectors = (n - head) / W;
  const uint4* __restrict__ body = reinterpret_cast<const uint4*>(row + head);
  int64_t v = threadIdx.x;
  for (; v + (kUnroll - 1) * int64_t{blockDim.x} < vectors; v += kUnroll * int64_t{blockDim.x}) {
    uint4 loaded[kUnroll];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) loaded[u] = __ldg(body + v + u * blockDim.x);
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      float x[W];
      const int64_t first = UnpackUnrolled<T>(loaded, u, v, head, x);
#pragma unroll
      for (int j = 0; j < W; ++j) visit(first + j, x[j]);
    }
  }
  for (; v < vectors; v += blockDim.x) {
    float x[W];
    Unpack<T>(__ldg(body + v), x);
#pragma unroll
    for (int j = 0; j < W; ++j) visit(head + v * W + j, x[j]);
  }
  for (int64_t c = head + vectors * W + threadIdx.x; c < n; c += blockDim.x) visit(c, ToFloat(row[c]));
}

// out_row[c] = transform(c, in_row[c]) for c < n (block-strided); out_row may equal in_row (each element is read
// and written by the same thread). Vector path only when both rows share their offset from a 16-byte boundary.
template <typename T, typename Transform>
__device__ __forceinline__ void TransformRow(T* out_row, const T* in_row, int64_t n, Transform&& transform) {
  constexpr int W = kWidth<T>;
  const bool same_phase = reinterpret_cast<uintptr_t>(out_row) % 16 == reinterpret_cast<uintptr_t>(in_row) % 16;
  const int64_t head = same_phase ? HeadLength(in_row, n) : n;
  for (int64_t c = threadIdx.x; c < head; c += blockDim.x) out_row[c] = FromFloat<T>(transform(c, ToFloat(in_row[c])));
  const int64_t vectors = (n - head) / W;
  const uint4* in_body = reinterpret_cast<const uint4*>(in_row + head);
  uint4* out_body = reinterpret_cast<uint4*>(out_row + head);
  int64_t v = threadIdx.x;
  for (; v + (kUnroll - 1) * int64_t{blockDim.x} < vectors; v += kUnroll * int64_t{blockDim.x}) {
    uint4 loaded[kUnroll];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) loaded[u] = in_body[v + u * blockDim.x];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      float x[W];
      const int64_t first = UnpackUnrolled<T>(loaded, u, v, head, x);
#pragma unroll
      for (int j = 0; j < W; ++j) x[j] = transform(first + j, x[j]);
      out_body[v + u * blockDim.x] = Pack<T>(x);
    }
  }
  for (; v < vectors; v += blockDim.x) {
    float x[W];
    Unpack<T>(in_body[v], x);
#pragma unroll
    for (int j = 0; j < W; ++j) x[j] = transform(head + v * W + j, x[j]);
    out_body[v] = Pack<T>(x);
  }
  for (int64_t c = head + vectors * W + threadIdx.x; c < n; c += blockDim.x) {
    out_row[c] = FromFloat<T>(transform(c, ToFloat(in_row[c])));
  }
}

// Block-wide reductions (every thread gets the result); `shared` holds one float per warp.
__device__ __forceinline__ float BlockMax(float value, float* shared) {
  for (int offset = 16; offset > 0; offset /= 2) value = fmaxf(value, __shfl_xor_sync(0xffffffffu, value, offset));
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, warps = blockDim.x / 32;
  __syncthreads();  // `shared` may still be read by an earlier reduction
  if (lane == 0) shared[warp] = value;
  __syncthreads();
  value = lane < warps ? shared[lane] : -INFINITY;
  for (int offset = 16; offset > 0; offset /= 2) value = fmaxf(value, __shfl_xor_sync(0xffffffffu, value, offset));
  return value;
}

__device__ __forceinline__ float BlockSum(float value, float* shared) {
  for (int offset = 16; offset > 0; offset /= 2) value += __shfl_xor_sync(0xffffffffu, value, offset);
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, warps = blockDim.x / 32;
  __syncthreads();
  if (lane == 0) shared[warp] = value;
  __syncthreads();
  value = lane < warps ? shared[lane] : 0.0f;
  for (int offset = 16; offset > 0; offset /= 2) value += __shfl_xor_sync(0xffffffffu, value, offset);
  return value;
}

// exp(x - max) with max_log2 = max * log2(e); 0 when max is -infinity (an empty shard).
__device__ __forceinline__ float ExpShifted(float x, float max_log2) { return exp2f(fmaf(x, kLog2E, -max_log2)); }

template <typename T>
__global__ void __launch_bounds__(kRowThreads) RowMaxKernel(float* row_max, const T* logits, int64_t cols,
                                                            int64_t valid_cols) {
  __shared__ float shared[32];
  const T* row = logits + blockIdx.x * cols;
  float max = -INFINITY;
  VisitRow(row, valid_cols, [&](int64_t, float x) { max = fmaxf(max, x); });
  max = BlockMax(max, shared);
  if (threadIdx.x == 0) row_max[blockIdx.x] = max;
}

template <typename T>
__global__ void __launch_bounds__(kRowThreads) RowSumExpKernel(float* row_sum, const T* logits, const float* row_max,
                                                               int64_t cols, int64_t valid_cols) {
  __shared__ float shared[32];
  const T* row = logits + blockIdx.x * cols;
  const float max_log2 = row_max[blockIdx.x] * kLog2E;
  float sum = 0.0f;
  VisitRow(row, valid_cols, [&](int64_t, float x) { sum += ExpShifted(x, max_log2); });
  sum = BlockSum(sum, shared);
  if (threadIdx.x == 0) row_sum[blockIdx.x] = sum;
}

// Column of this shard holding `target`, or -1 when another shard owns it.
__device__ __forceinline__ int64_t LocalColumn(int32_t target, int64_t valid_cols, int64_t vocab_start) {
  const int64_t col = static_cast<int64_t>(target) - vocab_start;
  return (col >= 0 && col < valid_cols) ? col : -1;
}

template <typename T>
__global__ void TargetLogitKernel(float* target_logit, const T* logits, const int32_t* targets, int64_t rows,
                                  int64_t cols, int64_t valid_cols, int64_t vocab_start) {
  const int64_t n = blockIdx.x * int64_t{blockDim.x} + threadIdx.x;
  if (n >= rows) return;
  const int64_t col = LocalColumn(targets[n], valid_cols, vocab_start);
  target_logit[n] = col >= 0 ? ToFloat(logits[n * cols + col]) : 0.0f;
}

__global__ void LossKernel(float* loss, const float* row_max, const float* row_sum, const float* target_logit,
                           int64_t rows) {
  const int64_t n = blockIdx.x * int64_t{blockDim.x} + threadIdx.x;
  if (n < rows) loss[n] = logf(row_sum[n]) + row_max[n] - target_logit[n];
}

template <typename T>
__global__ void __launch_bounds__(kRowThreads) BackwardKernel(T* dlogits, const T* logits, const float* row_max,
                                                              const float* row_sum, const int32_t* targets,
                                                              const float* dloss, int64_t cols, int64_t valid_cols,
                                                              int64_t vocab_start) {
  const int64_t n = blockIdx.x;
  const float max_log2 = row_max[n] * kLog2E;
  const float gradient = dloss[n];
  const float scale = gradient / row_sum[n];
  const int64_t target_col = LocalColumn(targets[n], valid_cols, vocab_start);
  T* drow = dlogits + n * cols;
  TransformRow(drow, logits + n * cols, valid_cols, [&](int64_t c, float x) {
    const float probability_term = ExpShifted(x, max_log2) * scale;
    return c == target_col ? probability_term - gradient : probability_term;
  });
  for (int64_t c = valid_cols + threadIdx.x; c < cols; c += blockDim.x) drow[c] = FromFloat<T>(0.0f);
}

// Online (one-pass) max and sum-of-exp per row, then the loss with the target logit picked by thread 0.
template <typename T>
__global__ void __launch_bounds__(kRowThreads) ForwardKernel(float* loss, float* row_max, float* row_sum,
                                                             const T* logits, const int32_t* targets, int64_t cols,
                                                             int64_t valid_cols) {
  __shared__ float shared[32];
  const int64_t n = blockIdx.x;
  const T* row = logits + n * cols;
  float max = -INFINITY, sum = 0.0f;
  VisitRow(row, valid_cols, [&](int64_t, float x) {
    if (x > max) {
      sum = sum * exp2f((max - x) * kLog2E) + 1.0f;  // exp2f(-inf) = 0 on the first element
      max = x;
    } else {
      sum += ExpShifted(x, max * kLog2E);
    }
  });
  const float block_max = BlockMax(max, shared);
  const float rescaled = max == -INFINITY ? 0.0f : sum * exp2f((max - block_max) * kLog2E);
  const float block_sum = BlockSum(rescaled, shared);
  if (threadIdx.x == 0) {
    const int64_t col = LocalColumn(targets[n], valid_cols, 0);
    const float target = col >= 0 ? ToFloat(row[col]) : 0.0f;
    row_max[n] = block_max;
    row_sum[n] = block_sum;
    loss[n] = logf(block_sum) + block_max - target;
  }
}

absl::Status ValidateShape(int64_t rows, int64_t cols, int64_t valid_cols) {
  if (rows < 0 || valid_cols < 0 || cols < valid_cols) {
    return absl::InvalidArgumentError(absl::StrCat("cross-entropy shape rows=", rows, " cols=", cols,
                                                   " valid_cols=", valid_cols,
                                                   ": expected rows >= 0 and 0 <= valid_cols <= cols"));
  }
  if (rows > INT32_MAX) {
    return absl::InvalidArgumentError(absl::StrCat("cross-entropy rows=", rows, ": at most 2^31-1 (one block each)"));
  }
  return absl::OkStatus();
}

absl::Status RequirePointers(std::initializer_list<const void*> pointers, const char* piece) {
  for (const void* pointer : pointers) {
    if (pointer == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(piece, ": a tensor argument is null, expected device pointers"));
    }
  }
  return absl::OkStatus();
}

unsigned PerRowThreadBlocks(int64_t rows) { return static_cast<unsigned>((rows + 255) / 256); }

}  // namespace

template <typename T>
absl::Status CrossEntropyRowMax(float* row_max, const T* logits, int64_t rows, int64_t cols, int64_t valid_cols,
                                cudaStream_t stream) {
  KACHI_RETURN_IF_ERROR(ValidateShape(rows, cols, valid_cols));
  if (rows == 0) return absl::OkStatus();
  KACHI_RETURN_IF_ERROR(RequirePointers({row_max, logits}, "CrossEntropyRowMax"));
  RowMaxKernel<T><<<static_cast<unsigned>(rows), kRowThreads, 0, stream>>>(row_max, logits, cols, valid_cols);
  return LaunchStatus("RowMaxKernel");
}

template <typename T>
absl::Status CrossEntropyRowSumExp(float* row_sum, const T* logits, const float* row_max, int64_t rows, int64_t cols,
                                   int64_t valid_cols, cudaStream_t stream) {
  KACHI_RETURN_IF_ERROR(ValidateShape(rows, cols, valid_cols));
  if (rows == 0) return absl::OkStatus();
  KACHI_RETURN_IF_ERROR(RequirePointers({row_sum, logits, row_max}, "CrossEntropyRowSumExp"));
  RowSumExpKernel<T><<<static_cast<unsigned>(rows), kRowThreads, 0, stream>>>(row_sum, logits, row_max, cols,
                                                                              valid_cols);
  return LaunchStatus("RowSumExpKernel");
}

template <typename T>
absl::Status CrossEntropyTargetLogit(float* target_logit, const T* logits, const int32_t* targets, int64_t rows,
                                     int64_t cols, int64_t valid_cols, int64_t vocab_start, cudaStream_t stream) {
  KACHI_RETURN_IF_ERROR(ValidateShape(rows, cols, valid_cols));
  if (rows == 0) return absl::OkStatus();
  KACHI_RETURN_IF_ERROR(RequirePointers({target_logit, logits, targets}, "CrossEntropyTargetLogit"));
  TargetLogitKernel<T><<<PerRowThreadBlocks(rows), 256, 0, stream>>>(target_logit, logits, targets, rows, cols,
                                                                      valid_cols, vocab_start);
  return LaunchStatus("TargetLogitKernel");
}

absl::Status CrossEntropyLoss(float* loss, const float* row_max, const float* row_sum, const float* target_logit,
                              int64_t rows, cudaStream_t stream) {
  if (rows < 0) return absl::InvalidArgumentError(absl::StrCat("cross-entropy rows=", rows, ": expected >= 0"));
  if (rows == 0) return absl::OkStatus();
  KACHI_RETURN_IF_ERROR(RequirePointers({loss, row_max, row_sum, target_logit}, "CrossEntropyLoss"));
  LossKernel<<<PerRowThreadBlocks(rows), 256, 0, stream>>>(loss, row_max, row_sum, target_logit, rows);
  return LaunchStatus("LossKernel");
}

template <typename T>
absl::Status CrossEntropyBackward(T* dlogits, const T* logits, const float* row_max, const float* row_sum,
                                  const int32_t* targets, const float* dloss, int64_t rows, int64_t cols,
                                  int64_t valid_cols, int64_t vocab_start, cudaStream_t stream) {
  KACHI_RETURN_IF_ERROR(ValidateShape(rows, cols, valid_cols));
  if (rows == 0) return absl::OkStatus();
  KACHI_RETURN_IF_ERROR(RequirePointers({dlogits, logits, row_max, row_sum, targets, dloss}, "CrossEntropyBackward"));
  BackwardKernel<T><<<static_cast<unsigned>(rows), kRowThreads, 0, stream>>>(dlogits, logits, row_max, row_sum,
                                                                             targets, dloss, cols, valid_cols,
                                                                             vocab_start);
  return LaunchStatus("BackwardKernel");
}

template <typename T>
absl::Status CrossEntropyForward(float* loss, float* row_max, float* row_sum, const T* logits,
                                 const int32_t* targets, int64_t rows, int64_t cols, int64_t valid_cols,
                                 cudaStream_t stream) {
  KACHI_RETURN_IF_ERROR(ValidateShape(rows, cols, valid_cols));
  if (rows == 0) return absl::OkStatus();
  KACHI_RETURN_IF_ERROR(RequirePointers({loss, row_max, row_sum, logits, targets}, "CrossEntropyForward"));
  ForwardKernel<T><<<static_cast<unsigned>(rows), kRowThreads, 0, stream>>>(loss, row_max, row_sum, logits, targets,
                                                                            cols, valid_cols);
  return LaunchStatus("ForwardKernel");
}

#define KACHI_INSTANTIATE_CUDA_CROSS_ENTROPY(T)                                                                   \
  template absl::Status CrossEntropyRowMax<T>(float*, const T*, int64_t, int64_t, int64_t, cudaStream_t);         \
  template absl::Status CrossEntropyRowSumExp<T>(float*, const T*, const float*, int64_t, int64_t, int64_t,       \
                                                 cudaStream_t);                                                   \
  template absl::Status CrossEntropyTargetLogit<T>(float*, const T*, const int32_t*, int64_t, int64_t, int64_t,   \
                                                   int64_t, cudaStream_t);                                        \
  template absl::Status CrossEntropyBackward<T>(T*, const T*, const float*, const float*, const int32_t*,         \
                                                const float*, int64_t, int64_t, int64_t, int64_t, cudaStream_t);  \
  template absl::Status CrossEntropyForward<T>(float*, float*, float*, const T*, const int32_t*, int64_t, int64_t, \
                                               int64_t, cudaStream_t);

KACHI_INSTANTIATE_CUDA_CROSS_ENTROPY(float)
KACHI_INSTANTIATE_CUDA_CROSS_ENTROPY(__nv_bfloat16)

#undef KACHI_INSTANTIATE_CUDA_CROSS_ENTROPY

}  // namespace kachi::cuda
