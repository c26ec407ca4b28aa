// ModelOps: one backend — its memory and stream (DeviceContext, device_context.h) and its kernels on that memory
// (KernelOps, kernel_ops.h) — the CPU reference kernels (kernels/*.h) on host memory, or the CUDA kernels on device
// memory and one stream (cuda_model_ops.h). The model, tensor- and data-parallel code is written once against the
// two interfaces; each user takes the side it needs (checkpoint snapshots and buffers a DeviceContext, ProfilingOps
// a KernelOps, GptModel and the optimizer both). The kernel ops are listed once in kernel_op_list.h.
#ifndef KACHI_RUNTIME_MODEL_MODEL_OPS_H_
#define KACHI_RUNTIME_MODEL_MODEL_OPS_H_

#include "absl/strings/string_view.h"
#include "runtime/model/device_context.h"
#include "runtime/model/kernel_ops.h"

namespace kachi {

class ModelOps : public DeviceContext, public KernelOps {
 public:
  // The kernels run where the memory is.
  absl::string_view kernels_name() const final { return name(); }
  bool device_kernels() const final { return device_memory(); }
};

// The process-wide CPU ModelOps: the reference kernels on host memory.
ModelOps& CpuModelOps();

}  // namespace kachi

#endif  // KACHI_RUNTIME_MODEL_MODEL_OPS_H_
