// The one builder of a multi-tensor kernel's TensorTable (kernels/tensor_table_cuda.h): checks each tensor, gives
// it the next run of work chunks, and copies the entries to device memory. Included by .cu files only.
#ifndef KACHI_KERNELS_TENSOR_TABLE_CUH_
#define KACHI_KERNELS_TENSOR_TABLE_CUH_

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "kernels/base/device_buffer.h"
#include "kernels/base/status_macros.h"
#include "kernels/cuda_memory_util.cuh"  // CeilDiv, KACHI_CUDA_RETURN_IF_ERROR
#include "kernels/tensor_table_cuda.h"

namespace kachi::cuda::internal {

// The table of `tensors` (each with a field n, its element count) for a kernel that deals out chunks of `chunk`
// elements: entry i is make_entry(tensors[i], i, the first chunk of tensor i), an absl::StatusOr<Entry> whose
// error ends the build; tensor i covers CeilDiv(n, chunk) chunks. Errors: InvalidArgument naming `list` when
// `tensors` is empty, the entry's error, or the allocation or copy error.
template <typename Entry, typename Tensor, typename MakeEntry>
absl::StatusOr<TensorTable> BuildTensorTable(const char* list, const std::vector<Tensor>& tensors, int64_t chunk,
                                             MakeEntry make_entry) {
  if (tensors.empty()) return absl::InvalidArgumentError(absl::StrCat(list, ": no tensors, expected at least one"));
  std::vector<Entry> entries;
  entries.reserve(tensors.size());
  TensorTable table;
  for (size_t i = 0; i < tensors.size(); ++i) {
    KACHI_ASSIGN_OR_RETURN(const Entry entry, make_entry(tensors[i], i, table.total_chunks));
    entries.push_back(entry);
    table.total_chunks += CeilDiv(tensors[i].n, chunk);
    table.total_elements += tensors[i].n;
  }
  table.count = static_cast<int>(tensors.size());
  const size_t bytes = sizeof(Entry) * entries.size();
  KACHI_ASSIGN_OR_RETURN(table.entries,
                         base::DeviceBuffer::Allocate(bytes, base::MemoryKind::kDevice, /*zero=*/false, list));
  KACHI_CUDA_RETURN_IF_ERROR(cudaMemcpy(table.entries.data(), entries.data(), bytes, cudaMemcpyHostToDevice));
  return table;
}

}  // namespace kachi::cuda::internal

#endif  // KACHI_KERNELS_TENSOR_TABLE_CUH_
