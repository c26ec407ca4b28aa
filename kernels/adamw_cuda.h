// CUDA twin of kernels/adamw.h for mixed-precision training: one launch updates many tensors. Each tensor keeps
// fp32 master weights and fp32 moments m, v; its gradient comes in T (float or __nv_bfloat16) and is multiplied by
// a global clip scale; the updated master is rounded to T into the working copy `param`. The per-element update is
// cpu::AdamWStep's (decoupled weight decay, bias corrections 1 - beta^step), in fp32.
#ifndef KACHI_KERNELS_ADAMW_CUDA_H_
#define KACHI_KERNELS_ADAMW_CUDA_H_

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "kernels/adamw.h"
#include "kernels/tensor_table_cuda.h"

namespace kachi::cuda {

// One tensor of a multi-tensor AdamW step (all pointers are device memory of n elements).
template <typename T>
struct AdamWTensor {
  float* master = nullptr;  // fp32 master weights, updated in place
  T* param = nullptr;       // working copy written from the updated master; nullptr writes none
  const T* grad = nullptr;  // gradient (multiplied by the step's grad_scale)
  float* m = nullptr;       // first moment (zeros before step 1)
  float* v = nullptr;       // second moment (zeros before step 1)
  int64_t n = 0;
  bool apply_weight_decay = true;  // false for biases and LayerNorm parameters, as in GPT-2 training
};

// The tensors of a multi-tensor step as a table in device memory (built once; the pointers must stay valid).
// Move-only.
template <typename T>
class AdamWTensorList {
 public:
  // Copies `tensors` (each with n >= 0 and non-null master, grad, m, v) into a device table.
  static absl::StatusOr<AdamWTensorList> Create(const std::vector<AdamWTensor<T>>& tensors);

  // Number of tensors, their total elements, and the work chunks the kernel deals out.
  int size() const { return table_.count; }
  int64_t total_elements() const { return table_.total_elements; }
  int64_t total_chunks() const { return table_.total_chunks; }
  // The device table (an array of the kernel's internal entries).
  const void* device_table() const { return table_.entries.data(); }

 private:
  explicit AdamWTensorList(TensorTable table) : table_(std::move(table)) {}
  TensorTable table_;
};

// One AdamW step (step >= 1) over every tensor of `tensors`, in one launch on `stream`. Weight decay
// hyper.weight_decay applies to the tensors that ask for it; grad_scale (e.g. min(1, max_norm / global_norm))
// multiplies every gradient before the update.
template <typename T>
absl::Status AdamWMultiTensorStep(const AdamWTensorList<T>& tensors, const cpu::AdamWHyperparameters& hyper,
                                  int64_t step, float grad_scale, cudaStream_t stream);

// The same update on a single tensor (no table needed); param may be nullptr.
template <typename T>
absl::Status AdamWStep(float* master, T* param, const T* grad, float* m, float* v, int64_t n,
                       const cpu::AdamWHyperparameters& hyper, int64_t step, float grad_scale, cudaStream_t stream);

}  // namespace kachi::cuda

#endif  // KACHI_KERNELS_ADAMW_CUDA_H_
