// CUDA position embedding add and its backward (see position_embedding_cuda.h). Rows of `channels` elements are
// split into vectors of VEC elements (16 bytes when channels % VEC == 0 and the pointers are aligned, else 1).
#include "kernels/base/status_macros.h"
#include "kernels/position_embedding_cuda.h"

#include "kernels/cuda_memory_util.cuh"

namespace kachi::cuda {
namespace {

constexpr int kThreads = 256;

// One thread per vector of out: [batch * seq_len, channels / VEC].
template <typename T, int VEC>
__global__ void PositionEmbeddingForwardKernel(T* out, const T* wpe, int64_t rows, int64_t seq_len,
                                               int64_t vectors_per_row) {
  const int64_t index = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (index >= rows * vectors_per_row) return;
  int64_t row, vector, batch_index, t;
  internal::DivMod(index, vectors_per_row, row, vector);
  internal::DivMod(row, seq_len, batch_index, t);
  const int64_t channels = vectors_per_row * VEC;
  const int64_t column = vector * VEC;
  T* target = out + row * channels + column;
  float value[VEC], position[VEC];
  internal::LoadFloats<VEC>(value, target);
  internal::LoadFloats<VEC>(position, wpe + t * channels + column);
#pragma unroll
  for (int k = 0; k < VEC; ++k) value[k] += position[k];
  internal::StoreFloats<VEC>(target, value);
}

// One thread per vector of dwpe: [seq_len, channels / VEC], looping over the batch in order.
template <typename T, int VEC>
__global__ void PositionEmbeddingBackwardKernel(T* dwpe, const T* dout, int64_t batch, int64_t seq_len,
                                                int64_t vectors_per_row) {
  const int64_t index = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (index >= seq_len * vectors_per_row) return;
  const int64_t channels = vectors_per_row * VEC;
  int64_t t, vector;
  internal::DivMod(index, vectors_per_row, t, vector);
  const int64_t offset = t * channels + vector * VEC;
  float sum[VEC];
  internal::LoadFloats<VEC>(sum, dwpe + offset);
#pragma unroll 4
  for (int64_t b = 0; b < batch; ++b) {
    float gradient[VEC];
    internal::LoadFloats<VEC>(gradient, dout + b * seq_len * channels + offset);
#pragma unroll
    for (int k = 0; k < VEC; ++k) sum[k] += gradient[k];
  }
  internal::StoreFloats<VEC>(dwpe + offset, sum);
}

absl::Status CheckShape(int64_t batch, int64_t seq_len, int64_t channels) {
  if (batch < 0 || seq_len < 0 || channels < 0) {
    return absl::InvalidArgumentError(absl::StrCat("position embedding: batch = ", batch, ", seq_len = ", seq_len,
                                                   ", channels = ", channels, "; expected all >= 0"));
  }
  return absl::OkStatus();
}

}  // namespace

template <typename T>
absl::Status PositionEmbeddingForward(T* out, const T* wpe, int64_t batch, int64_t seq_len, int64_t channels,
                                      cudaStream_t stream) {
  KACHI_RETURN_IF_ERROR(CheckShape(batch, seq_len, channels));
  const int64_t rows = batch * seq_len;
  if (rows == 0 || channels == 0) return absl::OkStatus();
  constexpr int kVec = internal::kVec16<T>;
  if (channels % kVec == 0 && internal::IsAligned16(out) && internal::IsAligned16(wpe)) {
    const int64_t vectors = channels / kVec;
    PositionEmbeddingForwardKernel<T, kVec>
        <<<internal::CeilDiv(rows * vectors, kThreads), kThreads, 0, stream>>>(out, wpe, rows, seq_len, vectors);
  } else {
    PositionEmbeddingForwardKernel<T, 1>
        <<<internal::CeilDiv(rows * channels, kThreads), kThreads, 0, stream>>>(out, wpe, rows, seq_len, channels);
  }
  return internal::LaunchStatus("PositionEmbeddingForwardKernel");
}

template <typename T>
absl::Status PositionEmbeddingBackward(T* dwpe, const T* dout, int64_t batch, int64_t seq_len, int64_t channels,
                                       cudaStream_t stream) {
  KACHI_RETURN_IF_ERROR(CheckShape(batch, seq_len, channels));
  if (seq_len == 0 || channels == 0 || batch == 0) return absl::OkStatus();
  constexpr int kVec = internal::kVec16<T>;
  if (channels % kVec == 0 && internal::IsAligned16(dwpe) && internal::IsAligned16(dout)) {
    const int64_t vectors = channels / kVec;
    PositionEmbeddingBackwardKernel<T, kVec>
        <<<internal::CeilDiv(seq_len * vectors, kThreads), kThreads, 0, stream>>>(dwpe, dout, batch, seq_len, vectors);
  } else {
    PositionEmbeddingBackwardKernel<T, 1><<<internal::CeilDiv(seq_len * channels, kThreads), kThreads, 0, stream>>>(
        dwpe, dout, batch, seq_len, channels);
  }
  return internal::LaunchStatus("PositionEmbeddingBackwardKernel");
}

template absl::Status PositionEmbeddingForward<float>(float*, const float*, int64_t, int64_t, int64_t, cudaStream_t);
template absl::Status PositionEmbeddingForward<__nv_bfloat16>(__nv_bfloat16*, const __nv_bfloat16*, int64_t, int64_t,
                                                              int64_t, cudaStream_t);
template absl::Status PositionEmbeddingBackward<float>(float*, const float*, int64_t, int64_t, int64_t, cudaStream_t);
template absl::Status PositionEmbeddingBackward<__nv_bfloat16>(__nv_bfloat16*, const __nv_bfloat16*, int64_t, int64_t,
                                                               int64_t, cudaStream_t);

}  // namespace kachi::cuda
