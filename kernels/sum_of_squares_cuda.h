// CUDA twin of kernels/sum_of_squares.h: the squared L2 norm of one tensor or of many tensors at once (the global
// gradient norm for clipping), accumulated in double. Deterministic two-pass reduction: pass 1 gives every block a
// fixed set of chunks (a function of the sizes only) and writes one partial sum per block; pass 2, a single block,
// adds the partials in a fixed tree. No atomics: the same inputs give the same bits on every run.
#ifndef KACHI_KERNELS_SUM_OF_SQUARES_CUDA_H_
#define KACHI_KERNELS_SUM_OF_SQUARES_CUDA_H_

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "kernels/base/device_buffer.h"
#include "kernels/tensor_table_cuda.h"

namespace kachi::cuda {

// One tensor of a global squared norm (device memory of n elements).
template <typename T>
struct SquaredNormTensor {
  const T* data = nullptr;
  int64_t n = 0;
};

// The tensors of a global squared norm as a device table, plus the scratch for the per-block partial sums.
// Move-only.
template <typename T>
class SquaredNormTensorList {
 public:
  // Copies `tensors` (each with n >= 0, data non-null when n > 0) into a device table.
  static absl::StatusOr<SquaredNormTensorList> Create(const std::vector<SquaredNormTensor<T>>& tensors);

  // Number of tensors and their total elements.
  int size() const { return table_.count; }
  int64_t total_elements() const { return table_.total_elements; }
  // Work chunks of the first pass, the device table and the partial-sum scratch (one double per block).
  int64_t total_chunks() const { return table_.total_chunks; }
  const void* device_table() const { return table_.entries.data(); }
  double* partials() const { return partials_.as<double>(); }

 private:
  SquaredNormTensorList(TensorTable table, base::DeviceBuffer partials)
      : table_(std::move(table)), partials_(std::move(partials)) {}
  TensorTable table_;
  base::DeviceBuffer partials_;
};

// *result (device double, written) = sum over the tensors of sum_i x[i]^2, each term in double; on `stream`.
template <typename T>
absl::Status GlobalSquaredNorm(double* result, const SquaredNormTensorList<T>& tensors, cudaStream_t stream);

// *result (device double, written) = sum_i x[i]^2 over [0, n); scratch allocated stream-ordered on `stream`.
template <typename T>
absl::Status SumOfSquares(double* result, const T* x, int64_t n, cudaStream_t stream);

}  // namespace kachi::cuda

#endif  // KACHI_KERNELS_SUM_OF_SQUARES_CUDA_H_
