// TensorTable: the device-side table of a multi-tensor CUDA kernel (AdamW, the global squared norm): one entry a
// tensor, in the kernel's own layout, each naming the first of the fixed-size work chunks its tensor covers, plus
// the counts a launch needs. AdamWTensorList and SquaredNormTensorList hold one; internal::BuildTensorTable
// (kernels/tensor_table.cuh) builds it. Move-only (the entries are a base::DeviceBuffer).
#ifndef KACHI_KERNELS_TENSOR_TABLE_CUDA_H_
#define KACHI_KERNELS_TENSOR_TABLE_CUDA_H_

#include <cstdint>

#include "kernels/base/device_buffer.h"

namespace kachi::cuda {

// The entry array in device memory and what it covers.
struct TensorTable {
  base::DeviceBuffer entries;  // count entries of the kernel's entry type, in device memory
  int count = 0;               // tensors
  int64_t total_elements = 0;  // elements over all tensors
  int64_t total_chunks = 0;    // work chunks over all tensors
};

}  // namespace kachi::cuda

#endif  // KACHI_KERNELS_TENSOR_TABLE_CUDA_H_
