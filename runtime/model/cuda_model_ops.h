// The CUDA ModelOps: device memory on one GPU, one CUDA stream, and kachi's CUDA kernels (kernels/*_cuda.h) in
// fp32 — the fp32 check mode of the GPU path (bf16 mixed precision comes on top of the same kernels). Flash
// attention's fp32 path needs head size 64. Only in CUDA builds; elsewhere MakeCudaModelOps returns Unavailable.
#ifndef KACHI_RUNTIME_MODEL_CUDA_MODEL_OPS_H_
#define KACHI_RUNTIME_MODEL_CUDA_MODEL_OPS_H_

#include <memory>

#include "absl/status/statusor.h"
#include "runtime/model/model_ops.h"

namespace kachi {

// CUDA ops on `device` (cudaSetDevice is called here and must stay the process's device).
absl::StatusOr<std::unique_ptr<ModelOps>> MakeCudaModelOps(int device);

}  // namespace kachi

#endif  // KACHI_RUNTIME_MODEL_CUDA_MODEL_OPS_H_
