// KernelOps' default fused residual + LayerNorm (see kernel_ops.h): the two unfused ops in turn, in whichever memory
// the ops use. Device ops override it with one kernel.
#include "kernels/base/status_macros.h"
#include "runtime/model/kernel_ops.h"

namespace kachi {

absl::Status KernelOps::ResidualLayerNormForward(float* residual_out, float* out, float* mean, float* rstd,
                                                 const float* a, const float* b, const float* weight, const float* bias,
                                                 int64_t rows, int64_t channels) {
  KACHI_RETURN_IF_ERROR(ResidualForward(residual_out, a, b, rows * channels));
  return LayerNormForward(out, mean, rstd, residual_out, weight, bias, rows, channels);
}

absl::Status KernelOps::ResidualLayerNormForward(Bf16* residual_out, Bf16* out, float* mean, float* rstd, const Bf16* a,
                                                 const Bf16* b, const Bf16* weight, const Bf16* bias, int64_t rows,
                                                 int64_t channels) {
  KACHI_RETURN_IF_ERROR(ResidualForward(residual_out, a, b, rows * channels));
  return LayerNormForward(out, mean, rstd, residual_out, weight, bias, rows, channels);
}

}  // namespace kachi
