// KernelOps: the kernel side of a backend — every kernel op of kernel_op_list.h, declared from that one list, and
// the backend-specific sizes attention needs. Pointers passed to an op live in the memory of the backend's
// DeviceContext (device_context.h), tokens included; a backend implements both (ModelOps, model_ops.h). Every op
// has the signature and accumulation convention of its CPU twin (kernels/README.md), in fp32, and a bf16 overload
// for mixed precision (bf16 activations, parameters and gradients; statistics such as LayerNorm mean/rstd, attention
// statistics and cross-entropy pieces stay fp32). The CUDA ops run the bf16 overloads natively; for host memory this
// base class emulates them (bf16_emulation.cc): inputs widened to fp32, the fp32 op, outputs rounded to bf16 — the
// CPU reference of the GPU's mixed precision. Wrappers such as ProfilingOps implement KernelOps alone.
#ifndef KACHI_RUNTIME_MODEL_KERNEL_OPS_H_
#define KACHI_RUNTIME_MODEL_KERNEL_OPS_H_

#include <cstddef>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "runtime/model/bf16.h"
#include "runtime/model/kernel_op_list.h"

namespace kachi {

class KernelOps {
 public:
  virtual ~KernelOps() = default;

  // The backend's name ("cpu", "cuda") and whether its pointers are device memory (then the host bf16 emulation
  // below refuses to run: a device backend overrides every bf16 op).
  virtual absl::string_view kernels_name() const = 0;
  virtual bool device_kernels() const = 0;

  // Attention keeps backend-specific statistics between forward and backward (the CPU keeps the probabilities,
  // [B, NH, T, T]; flash attention keeps a logsumexp per row) and may need scratch in backward: their sizes.
  virtual int64_t AttentionStatsSize(int64_t batch, int64_t heads, int64_t seq_len) const = 0;
  virtual int64_t AttentionScratchSize(int64_t batch, int64_t heads, int64_t seq_len) const = 0;

  // The kernel ops, declared from the one list in kernel_op_list.h (see the comments there and the CPU twins in
  // kernels/*.h for the math): the fp32 ops are pure; the bf16 ops default to the host emulation
  // (bf16_emulation.cc), the composed fused ops to their unfused parts (fused_op_defaults.cc).
#define KACHI_DECLARE_PURE_OP(R, Name, Params, Args, Extents) virtual R Name Params = 0;
#define KACHI_DECLARE_DEFAULT_OP(R, Name, Params, Args, Extents) virtual R Name Params;
  KACHI_KERNEL_OPS(KACHI_DECLARE_PURE_OP, float)
  KACHI_FP32_KERNEL_OPS(KACHI_DECLARE_PURE_OP)
  KACHI_COMPOSED_KERNEL_OPS(KACHI_DECLARE_DEFAULT_OP, float)
  KACHI_KERNEL_OPS(KACHI_DECLARE_DEFAULT_OP, Bf16)
  KACHI_BF16_KERNEL_OPS(KACHI_DECLARE_DEFAULT_OP)
  KACHI_COMPOSED_KERNEL_OPS(KACHI_DECLARE_DEFAULT_OP, Bf16)
#undef KACHI_DECLARE_PURE_OP
#undef KACHI_DECLARE_DEFAULT_OP
};

}  // namespace kachi

#endif  // KACHI_RUNTIME_MODEL_KERNEL_OPS_H_
