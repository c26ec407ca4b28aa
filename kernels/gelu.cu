// CUDA GELU forward/backward (see gelu_cuda.h). One thread per 16-byte vector (or per element on the scalar
// path); the formulas are the CPU twin's (kernels/gelu.cc) in fp32.
#include "kernels/gelu_cuda.h"

#include "kernels/cuda_memory_util.cuh"

namespace kachi::cuda {
namespace {

constexpr int kThreads = 256;
constexpr float kSqrtTwoOverPi = 0.7978845608028654f;
constexpr float kCubicCoefficient = 0.044715f;

// gelu(x) with tanh via tanhf (full fp32 accuracy).
__device__ __forceinline__ float Gelu(float x) {
  const float inner = kSqrtTwoOverPi * (x + kCubicCoefficient * x * x * x);
  return 0.5f * x * (1.0f + tanhf(inner));
}

// d gelu(x) / dx.
__device__ __forceinline__ float GeluDerivative(float x) {
  const float inner = kSqrtTwoOverPi * (x + kCubicCoefficient * x * x * x);
  const float tanh_inner = tanhf(inner);
  const float sech_squared = 1.0f - tanh_inner * tanh_inner;
  const float dinner_dx = kSqrtTwoOverPi * (1.0f + 3.0f * kCubicCoefficient * x * x);
  return 0.5f * (1.0f + tanh_inner) + 0.5f * x * sech_squared * dinner_dx;
}

// Thread i handles elements [i * VEC, i * VEC + VEC) when they all exist, else the remaining ones one by one.
template <typename T, int VEC>
__global__ void GeluForwardKernel(T* out, const T* in, int64_t n) {
  const int64_t first = (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) * VEC;
  if (first + VEC <= n) {
    float x[VEC];
    internal::LoadFloats<VEC>(x, in + first);
#pragma unroll
    for (int k = 0; k < VEC; ++k) x[k] = Gelu(x[k]);
    internal::StoreFloats<VEC>(out + first, x);
  } else {
    for (int64_t i = first; i < n; ++i) out[i] = internal::FromFloat<T>(Gelu(internal::ToFloat(in[i])));
  }
}

template <typename T, int VEC>
__global__ void GeluBackwardKernel(T* din, const T* in, const T* dout, int64_t n) {
  const int64_t first = (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) * VEC;
  if (first + VEC <= n) {
    float x[VEC], dy[VEC], dx[VEC];
    internal::LoadFloats<VEC>(x, in + first);
    internal::LoadFloats<VEC>(dy, dout + first);
    internal::LoadFloats<VEC>(dx, din + first);
#pragma unroll
    for (int k = 0; k < VEC; ++k) dx[k] += GeluDerivative(x[k]) * dy[k];
    internal::StoreFloats<VEC>(din + first, dx);
  } else {
    for (int64_t i = first; i < n; ++i) {
      const float dx = internal::ToFloat(din[i]) + GeluDerivative(internal::ToFloat(in[i])) * internal::ToFloat(dout[i]);
      din[i] = internal::FromFloat<T>(dx);
    }
  }
}

absl::Status CheckSize(int64_t n) {
  if (n < 0) return absl::InvalidArgumentError(absl::StrCat("GELU: n = ", n, ", expected n >= 0"));
  return absl::OkStatus();
}

}  // namespace

template <typename T>
absl::Status GeluForward(T* out, const T* in, int64_t n, cudaStream_t stream) {
  if (absl::Status status = CheckSize(n); !status.ok() || n == 0) return status;
  constexpr int kVec = internal::kVec16<T>;
  if (internal::IsAligned16(out) && internal::IsAligned16(in)) {
    GeluForwardKernel<T, kVec>
        <<<internal::CeilDiv(internal::CeilDiv(n, kVec), kThreads), kThreads, 0, stream>>>(out, in, n);
  } else {
    GeluForwardKernel<T, 1><<<internal::CeilDiv(n, kThreads), kThreads, 0, stream>>>(out, in, n);
  }
  return internal::LaunchStatus("GeluForwardKernel");
}

template <typename T>
absl::Status GeluBackward(T* din, const T* in, const T* dout, int64_t n, cudaStream_t stream) {
  if (absl::Status status = CheckSize(n); !status.ok() || n == 0) return status;
  constexpr int kVec = internal::kVec16<T>;
  if (internal::IsAligned16(din) && internal::IsAligned16(in) && internal::IsAligned16(dout)) {
    GeluBackwardKernel<T, kVec>
        <<<internal::CeilDiv(internal::CeilDiv(n, kVec), kThreads), kThreads, 0, stream>>>(din, in, dout, n);
  } else {
    GeluBackwardKernel<T, 1><<<internal::CeilDiv(n, kThreads), kThreads, 0, stream>>>(din, in, dout, n);
  }
  return internal::LaunchStatus("GeluBackwardKernel");
}

template absl::Status GeluForward<float>(float*, const float*, int64_t, cudaStream_t);
template absl::Status GeluForward<__nv_bfloat16>(__nv_bfloat16*, const __nv_bfloat16*, int64_t, cudaStream_t);
template absl::Status GeluBackward<float>(float*, const float*, const float*, int64_t, cudaStream_t);
template absl::Status GeluBackward<__nv_bfloat16>(__nv_bfloat16*, const __nv_bfloat16*, const __nv_bfloat16*, int64_t,
                                                  cudaStream_t);

}  // namespace kachi::cuda
