// CUDA fill, scale, residual add and fp32<->bf16 conversion (see elementwise_cuda.h): grid-stride loops, math in fp32.
#include <cuda_bf16.h>

#include "absl/strings/str_cat.h"
#include "kernels/elementwise_cuda.h"
#include "kernels/float_convert.cuh"

namespace kachi::cuda {
namespace {

using internal::FromFloat;
using internal::ToFloat;

template <typename T>
__global__ void FillKernel(T* data, float value, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x) {
    data[i] = FromFloat<T>(value);
  }
}

template <typename T>
__global__ void ScaleKernel(T* data, float scale, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x) {
    data[i] = FromFloat<T>(ToFloat(data[i]) * scale);
  }
}

template <typename T>
__global__ void AddKernel(T* out, const T* a, const T* b, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x) {
    out[i] = FromFloat<T>(ToFloat(a[i]) + ToFloat(b[i]));
  }
}

template <typename To, typename From>
__global__ void ConvertKernel(To* out, const From* in, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x) {
    out[i] = FromFloat<To>(ToFloat(in[i]));
  }
}

constexpr int kThreads = 256;

int Blocks(int64_t n) {
  const int64_t blocks = (n + kThreads - 1) / kThreads;
  return static_cast<int>(blocks < 4096 ? (blocks > 0 ? blocks : 1) : 4096);
}

absl::Status LaunchStatus(const char* what) {
  const cudaError_t error = cudaGetLastError();
  if (error == cudaSuccess) return absl::OkStatus();
  return absl::InternalError(absl::StrCat(what, ": ", cudaGetErrorString(error)));
}

}  // namespace

template <typename T>
absl::Status Fill(T* data, float value, int64_t n, cudaStream_t stream) {
  if (n <= 0) return absl::OkStatus();
  FillKernel<T><<<Blocks(n), kThreads, 0, stream>>>(data, value, n);
  return LaunchStatus("cuda::Fill");
}

template <typename T>
absl::Status Scale(T* data, float scale, int64_t n, cudaStream_t stream) {
  if (n <= 0) return absl::OkStatus();
  ScaleKernel<T><<<Blocks(n), kThreads, 0, stream>>>(data, scale, n);
  return LaunchStatus("cuda::Scale");
}

template <typename T>
absl::Status ResidualForward(T* out, const T* a, const T* b, int64_t n, cudaStream_t stream) {
  if (n <= 0) return absl::OkStatus();
  AddKernel<T><<<Blocks(n), kThreads, 0, stream>>>(out, a, b, n);
  return LaunchStatus("cuda::ResidualForward");
}

absl::Status ConvertToBf16(__nv_bfloat16* out, const float* in, int64_t n, cudaStream_t stream) {
  if (n <= 0) return absl::OkStatus();
  ConvertKernel<__nv_bfloat16, float><<<Blocks(n), kThreads, 0, stream>>>(out, in, n);
  return LaunchStatus("cuda::ConvertToBf16");
}

absl::Status ConvertToFloat(float* out, const __nv_bfloat16* in, int64_t n, cudaStream_t stream) {
  if (n <= 0) return absl::OkStatus();
  ConvertKernel<float, __nv_bfloat16><<<Blocks(n), kThreads, 0, stream>>>(out, in, n);
  return LaunchStatus("cuda::ConvertToFloat");
}

#define KACHI_INSTANTIATE_ELEMENTWISE(T)                                                 \
  template absl::Status Fill<T>(T*, float, int64_t, cudaStream_t);                       \
  template absl::Status Scale<T>(T*, float, int64_t, cudaStream_t);                      \
  template absl::Status ResidualForward<T>(T*, const T*, const T*, int64_t, cudaStream_t);
KACHI_INSTANTIATE_ELEMENTWISE(float)
KACHI_INSTANTIATE_ELEMENTWISE(__nv_bfloat16)
#undef KACHI_INSTANTIATE_ELEMENTWISE

}  // namespace kachi::cuda
