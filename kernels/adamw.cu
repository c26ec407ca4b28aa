// CUDA multi-tensor AdamW (see adamw_cuda.h). The tensors are cut into chunks of kChunk elements; block b takes
// chunks b, b + gridDim.x, ..., finds each chunk's tensor by binary search over the table's chunk_begin and
// updates its elements, 4 per thread per pass (16-byte fp32 accesses, 8- or 16-byte gradient/param accesses) when
// the tensor's pointers allow, one by one otherwise.
#include "kernels/adamw_cuda.h"

#include <cmath>
#include <utility>

#include "kernels/base/status_macros.h"
#include "kernels/cuda_memory_util.cuh"
#include "kernels/tensor_table.cuh"

namespace kachi::cuda {
namespace {

using internal::CeilDiv;
using internal::FromFloat;
using internal::ToFloat;

constexpr int kThreads = 256;
constexpr int kVec = 4;
constexpr int64_t kChunk = 4096;  // multiple of kThreads * kVec
constexpr int64_t kMaxBlocks = 1 << 20;

// A table entry as the kernel reads it.
template <typename T>
struct Entry {
  float* master;
  T* param;
  const T* grad;
  float* m;
  float* v;
  int64_t n;
  int64_t chunk_begin;
  int apply_weight_decay;
};

// The step's constants, from the hyperparameters in double, rounded once to fp32.
struct Coefficients {
  float beta1, beta2, one_minus_beta1, one_minus_beta2;
  float inv_correction1, inv_correction2;
  float learning_rate, eps, weight_decay, grad_scale;
};

Coefficients MakeCoefficients(const cpu::AdamWHyperparameters& hyper, int64_t step, float grad_scale) {
  Coefficients c;
  c.beta1 = static_cast<float>(hyper.beta1);
  c.beta2 = static_cast<float>(hyper.beta2);
  c.one_minus_beta1 = static_cast<float>(1.0 - hyper.beta1);
  c.one_minus_beta2 = static_cast<float>(1.0 - hyper.beta2);
  c.inv_correction1 = static_cast<float>(1.0 / (1.0 - std::pow(hyper.beta1, static_cast<double>(step))));
  c.inv_correction2 = static_cast<float>(1.0 / (1.0 - std::pow(hyper.beta2, static_cast<double>(step))));
  c.learning_rate = static_cast<float>(hyper.learning_rate);
  c.eps = static_cast<float>(hyper.eps);
  c.weight_decay = static_cast<float>(hyper.weight_decay);
  c.grad_scale = grad_scale;
  return c;
}

// Updates one element: moments, then the master weight; returns nothing, writes through the references.
__device__ __forceinline__ void UpdateElement(float& master, float& m, float& v, float raw_grad, float decay,
                                              const Coefficients& c) {
  const float g = raw_grad * c.grad_scale;
  m = c.beta1 * m + c.one_minus_beta1 * g;
  v = c.beta2 * v + c.one_minus_beta2 * g * g;
  const float m_hat = m * c.inv_correction1;
  const float v_hat = v * c.inv_correction2;
  master -= c.learning_rate * (m_hat / (sqrtf(v_hat) + c.eps) + decay * master);
}

template <typename T>
__device__ __forceinline__ bool VectorizableEntry(const Entry<T>& e) {
  constexpr uintptr_t kNarrow = sizeof(T) * kVec;
  return (reinterpret_cast<uintptr_t>(e.master) | reinterpret_cast<uintptr_t>(e.m) |
          reinterpret_cast<uintptr_t>(e.v)) % 16 == 0 &&
         (reinterpret_cast<uintptr_t>(e.grad) | reinterpret_cast<uintptr_t>(e.param)) % kNarrow == 0;
}

// Elements [begin, end) of one tensor; begin is a multiple of kChunk.
template <typename T>
__device__ void UpdateRange(const Entry<T>& e, int64_t begin, int64_t end, const Coefficients& c) {
  const float decay = e.apply_weight_decay ? c.weight_decay : 0.0f;
  if (VectorizableEntry(e)) {
    const int64_t vector_end = begin + (end - begin) / kVec * kVec;
    for (int64_t i = begin + threadIdx.x * kVec; i < vector_end; i += kThreads * kVec) {
      float4 master = *reinterpret_cast<const float4*>(e.master + i);
      float4 m = *reinterpret_cast<const float4*>(e.m + i);
      float4 v = *reinterpret_cast<const float4*>(e.v + i);
      float g[kVec];
      internal::LoadFloats<kVec>(g, e.grad + i);
      UpdateElement(master.x, m.x, v.x, g[0], decay, c);
      UpdateElement(master.y, m.y, v.y, g[1], decay, c);
      UpdateElement(master.z, m.z, v.z, g[2], decay, c);
      UpdateElement(master.w, m.w, v.w, g[3], decay, c);
      *reinterpret_cast<float4*>(e.master + i) = master;
      *reinterpret_cast<float4*>(e.m + i) = m;
      *reinterpret_cast<float4*>(e.v + i) = v;
      if (e.param != nullptr) {
        const float updated[kVec] = {master.x, master.y, master.z, master.w};
        internal::StoreFloats<kVec>(e.param + i, updated);
      }
    }
    begin = vector_end;
  }
  for (int64_t i = begin + threadIdx.x; i < end; i += kThreads) {
    float master = e.master[i], m = e.m[i], v = e.v[i];
    UpdateElement(master, m, v, ToFloat(e.grad[i]), decay, c);
    e.master[i] = master;
    e.m[i] = m;
    e.v[i] = v;
    if (e.param != nullptr) e.param[i] = FromFloat<T>(master);
  }
}

// Multi-tensor kernel: `entries` in device memory, or (entries == nullptr) the single entry `only`.
template <typename T>
__global__ void __launch_bounds__(kThreads) AdamWKernel(const Entry<T>* entries, int count, Entry<T> only,
                                                        int64_t total_chunks, Coefficients c) {
  for (int64_t chunk = blockIdx.x; chunk < total_chunks; chunk += gridDim.x) {
    const Entry<T>& e = entries == nullptr ? only : entries[internal::FindTensorOfChunk(entries, count, chunk)];
    const int64_t begin = (chunk - e.chunk_begin) * kChunk;
    const int64_t end = begin + kChunk < e.n ? begin + kChunk : e.n;
    UpdateRange(e, begin, end, c);
  }
}

absl::Status CheckStep(const cpu::AdamWHyperparameters& hyper, int64_t step, float grad_scale) {
  if (step < 1) return absl::InvalidArgumentError(absl::StrCat("AdamW: step = ", step, ", expected step >= 1"));
  if (!(hyper.beta1 >= 0 && hyper.beta1 < 1 && hyper.beta2 >= 0 && hyper.beta2 < 1)) {
    return absl::InvalidArgumentError(absl::StrCat("AdamW: beta1 = ", hyper.beta1, ", beta2 = ", hyper.beta2,
                                                   "; expected both in [0, 1)"));
  }
  if (!std::isfinite(grad_scale)) {
    return absl::InvalidArgumentError(absl::StrCat("AdamW: grad_scale = ", grad_scale, ", expected a finite value"));
  }
  return absl::OkStatus();
}

template <typename T>
absl::Status CheckTensor(const AdamWTensor<T>& tensor, size_t index) {
  if (tensor.n < 0) {
    return absl::InvalidArgumentError(absl::StrCat("AdamW tensor ", index, ": n = ", tensor.n, ", expected >= 0"));
  }
  if (tensor.n > 0 && (tensor.master == nullptr || tensor.grad == nullptr || tensor.m == nullptr ||
                       tensor.v == nullptr)) {
    return absl::InvalidArgumentError(
        absl::StrCat("AdamW tensor ", index, ": master, grad, m and v must be device pointers, found a null"));
  }
  return absl::OkStatus();
}

template <typename T>
Entry<T> ToEntry(const AdamWTensor<T>& tensor, int64_t chunk_begin) {
  return Entry<T>{tensor.master, tensor.param, tensor.grad, tensor.m, tensor.v, tensor.n, chunk_begin,
                  tensor.apply_weight_decay ? 1 : 0};
}

}  // namespace

template <typename T>
absl::StatusOr<AdamWTensorList<T>> AdamWTensorList<T>::Create(const std::vector<AdamWTensor<T>>& tensors) {
  auto entry = [](const AdamWTensor<T>& tensor, size_t index, int64_t chunk_begin) -> absl::StatusOr<Entry<T>> {
    KACHI_RETURN_IF_ERROR(CheckTensor(tensor, index));
    return ToEntry(tensor, chunk_begin);
  };
  KACHI_ASSIGN_OR_RETURN(TensorTable table,
                         internal::BuildTensorTable<Entry<T>>("AdamWTensorList", tensors, kChunk, entry));
  return AdamWTensorList(std::move(table));
}

template <typename T>
absl::Status AdamWMultiTensorStep(const AdamWTensorList<T>& tensors, const cpu::AdamWHyperparameters& hyper,
                                  int64_t step, float grad_scale, cudaStream_t stream) {
  KACHI_RETURN_IF_ERROR(CheckStep(hyper, step, grad_scale));
  if (tensors.total_chunks() == 0) return absl::OkStatus();
  const int64_t blocks = tensors.total_chunks() < kMaxBlocks ? tensors.total_chunks() : kMaxBlocks;
  AdamWKernel<T><<<blocks, kThreads, 0, stream>>>(static_cast<const Entry<T>*>(tensors.device_table()),
                                                  tensors.size(), Entry<T>{}, tensors.total_chunks(),
                                                  MakeCoefficients(hyper, step, grad_scale));
  return internal::LaunchStatus("AdamWKernel (multi-tensor)");
}

template <typename T>
absl::Status AdamWStep(float* master, T* param, const T* grad, float* m, float* v, int64_t n,
                       const cpu::AdamWHyperparameters& hyper, int64_t step, float grad_scale, cudaStream_t stream) {
  KACHI_RETURN_IF_ERROR(CheckStep(hyper, step, grad_scale));
  AdamWTensor<T> tensor{master, param, grad, m, v, n, true};
  if (absl::Status status = CheckTensor(tensor, 0); !status.ok() || n == 0) return status;
  const int64_t chunks = CeilDiv(n, kChunk);
  AdamWKernel<T><<<chunks < kMaxBlocks ? chunks : kMaxBlocks, kThreads, 0, stream>>>(
      nullptr, 1, ToEntry(tensor, 0), chunks, MakeCoefficients(hyper, step, grad_scale));
  return internal::LaunchStatus("AdamWKernel (single tensor)");
}

#define KACHI_INSTANTIATE_ADAMW(T)                                                                                \
  template class AdamWTensorList<T>;                                                                              \
  template absl::Status AdamWMultiTensorStep<T>(const AdamWTensorList<T>&, const cpu::AdamWHyperparameters&,      \
                                                int64_t, float, cudaStream_t);                                    \
  template absl::Status AdamWStep<T>(float*, T*, const T*, float*, float*, int64_t,                               \
                                     const cpu::AdamWHyperparameters&, int64_t, float, cudaStream_t);
KACHI_INSTANTIATE_ADAMW(float)
KACHI_INSTANTIATE_ADAMW(__nv_bfloat16)
#undef KACHI_INSTANTIATE_ADAMW

}  // namespace kachi::cuda
