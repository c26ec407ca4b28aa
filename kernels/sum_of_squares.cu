// CUDA sum of squares (see sum_of_squares_cuda.h). Chunks of kChunk elements; block b of pass 1 takes chunks
// b, b + gridDim.x, ... (gridDim.x = min(chunks, kMaxBlocks), so the split depends on the sizes only), each thread
// accumulates its elements in double, the block adds its threads by BlockSum's fixed tree.
#include "kernels/sum_of_squares_cuda.h"

#include <utility>

#include "kernels/base/status_macros.h"
#include "kernels/cuda_memory_util.cuh"
#include "kernels/tensor_table.cuh"

namespace kachi::cuda {
namespace {

using internal::CeilDiv;
using internal::ToFloat;

constexpr int kThreads = 256;
constexpr int64_t kChunk = 8192;  // multiple of kThreads * 16-byte vector width
constexpr int kMaxBlocks = 1024;  // also the thread count of pass 2

// A table entry as the kernel reads it.
template <typename T>
struct Entry {
  const T* data;
  int64_t n;
  int64_t chunk_begin;
};

// Sum of squares of x[begin, end) over this thread's share, in double.
template <typename T>
__device__ double ThreadRangeSum(const T* x, int64_t begin, int64_t end) {
  constexpr int kVec = internal::kVec16<T>;
  double sum = 0.0;
  if (internal::IsAligned16(x)) {
    const int64_t vector_end = begin + (end - begin) / kVec * kVec;
    for (int64_t i = begin + threadIdx.x * kVec; i < vector_end; i += kThreads * kVec) {
      float values[kVec];
      internal::LoadFloats<kVec>(values, x + i);
#pragma unroll
      for (int k = 0; k < kVec; ++k) sum += static_cast<double>(values[k]) * values[k];
    }
    begin = vector_end;
  }
  for (int64_t i = begin + threadIdx.x; i < end; i += kThreads) {
    const double value = ToFloat(x[i]);
    sum += value * value;
  }
  return sum;
}

// Pass 1: partials[blockIdx.x] = this block's chunks' sum. `entries` in device memory, or the single `only`.
template <typename T>
__global__ void __launch_bounds__(kThreads) PartialSumsKernel(double* partials, const Entry<T>* entries, int count,
                                                              Entry<T> only, int64_t total_chunks) {
  __shared__ double scratch[32];
  double sum = 0.0;
  for (int64_t chunk = blockIdx.x; chunk < total_chunks; chunk += gridDim.x) {
    const Entry<T> e = entries == nullptr ? only : entries[internal::FindTensorOfChunk(entries, count, chunk)];
    const int64_t begin = (chunk - e.chunk_begin) * kChunk;
    const int64_t end = begin + kChunk < e.n ? begin + kChunk : e.n;
    sum += ThreadRangeSum(e.data, begin, end);
  }
  const double total = internal::BlockSum(sum, scratch);
  if (threadIdx.x == 0) partials[blockIdx.x] = total;
}

// Pass 2 (one block of kMaxBlocks threads): *result = sum of partials[0, count).
__global__ void __launch_bounds__(kMaxBlocks) FinalSumKernel(double* result, const double* partials, int count) {
  __shared__ double scratch[32];
  const double value = threadIdx.x < count ? partials[threadIdx.x] : 0.0;
  const double total = internal::BlockSum(value, scratch);
  if (threadIdx.x == 0) *result = total;
}

int PartialBlocks(int64_t total_chunks) {
  return static_cast<int>(total_chunks < kMaxBlocks ? total_chunks : kMaxBlocks);
}

// Both passes; total_chunks may be 0 (then *result = 0).
template <typename T>
absl::Status LaunchBothPasses(double* result, double* partials, const Entry<T>* entries, int count, Entry<T> only,
                              int64_t total_chunks, cudaStream_t stream) {
  const int blocks = PartialBlocks(total_chunks);
  if (blocks > 0) {
    PartialSumsKernel<T><<<blocks, kThreads, 0, stream>>>(partials, entries, count, only, total_chunks);
    KACHI_CUDA_RETURN_IF_LAUNCH_FAILED("PartialSumsKernel");
  }
  FinalSumKernel<<<1, kMaxBlocks, 0, stream>>>(result, partials, blocks);
  return internal::LaunchStatus("FinalSumKernel");
}

}  // namespace

template <typename T>
absl::StatusOr<SquaredNormTensorList<T>> SquaredNormTensorList<T>::Create(
    const std::vector<SquaredNormTensor<T>>& tensors) {
  auto entry = [](const SquaredNormTensor<T>& tensor, size_t index, int64_t chunk_begin) -> absl::StatusOr<Entry<T>> {
    if (tensor.n < 0 || (tensor.n > 0 && tensor.data == nullptr)) {
      return absl::InvalidArgumentError(absl::StrCat("SquaredNormTensorList tensor ", index, ": n = ", tensor.n,
                                                     ", data ", tensor.data == nullptr ? "null" : "set",
                                                     "; expected n >= 0 and data set when n > 0"));
    }
    return Entry<T>{tensor.data, tensor.n, chunk_begin};
  };
  KACHI_ASSIGN_OR_RETURN(TensorTable table,
                         internal::BuildTensorTable<Entry<T>>("SquaredNormTensorList", tensors, kChunk, entry));
  KACHI_ASSIGN_OR_RETURN(base::DeviceBuffer partials,
                         base::DeviceBuffer::Allocate(sizeof(double) * kMaxBlocks, base::MemoryKind::kDevice,
                                                      /*zero=*/false, "SquaredNormTensorList partial sums"));
  return SquaredNormTensorList(std::move(table), std::move(partials));
}

template <typename T>
absl::Status GlobalSquaredNorm(double* result, const SquaredNormTensorList<T>& tensors, cudaStream_t stream) {
  return LaunchBothPasses<T>(result, tensors.partials(), static_cast<const Entry<T>*>(tensors.device_table()),
                             tensors.size(), Entry<T>{}, tensors.total_chunks(), stream);
}

template <typename T>
absl::Status SumOfSquares(double* result, const T* x, int64_t n, cudaStream_t stream) {
  if (n < 0 || (n > 0 && x == nullptr)) {
    return absl::InvalidArgumentError(absl::StrCat("SumOfSquares: n = ", n, ", x ", x == nullptr ? "null" : "set",
                                                   "; expected n >= 0 and x set when n > 0"));
  }
  double* partials = nullptr;
  KACHI_CUDA_RETURN_IF_ERROR(cudaMallocAsync(reinterpret_cast<void**>(&partials), sizeof(double) * kMaxBlocks, stream));
  const absl::Status status =
      LaunchBothPasses<T>(result, partials, nullptr, 1, Entry<T>{x, n, 0}, CeilDiv(n, kChunk), stream);
  const absl::Status free_status = internal::CudaStatus(cudaFreeAsync(partials, stream), "cudaFreeAsync");
  return status.ok() ? free_status : status;
}

#define KACHI_INSTANTIATE_SUM_OF_SQUARES(T)                                                                 \
  template class SquaredNormTensorList<T>;                                                                  \
  template absl::Status GlobalSquaredNorm<T>(double*, const SquaredNormTensorList<T>&, cudaStream_t);       \
  template absl::Status SumOfSquares<T>(double*, const T*, int64_t, cudaStream_t);
KACHI_INSTANTIATE_SUM_OF_SQUARES(float)
KACHI_INSTANTIATE_SUM_OF_SQUARES(__nv_bfloat16)
#undef KACHI_INSTANTIATE_SUM_OF_SQUARES

}  // namespace kachi::cuda
