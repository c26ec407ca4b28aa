// Fused residual add + LayerNorm (eps 1e-5), the CUDA twin of cpu::ResidualForward followed by
// cpu::LayerNormForward, and its backward. One warp per row; statistics (mean, rstd) and all arithmetic in fp32,
// activations in T (float or __nv_bfloat16). The LayerNorm input is the residual sum as stored (rounded to T), so
// the backward, which reads the stored residual, differentiates exactly what the forward normalized.
//
// Determinism of the backward: rows are dealt to warps by a fixed rule that depends on `rows` only; each warp
// sums dweight/dbias terms of its rows in row order into its own shared-memory partial, a block adds its warps'
// partials in warp order into one global partial row, and a second kernel adds the block partials in block order
// onto dweight/dbias. No atomics, so results repeat bit for bit.
#ifndef KACHI_KERNELS_RESIDUAL_LAYERNORM_CUDA_H_
#define KACHI_KERNELS_RESIDUAL_LAYERNORM_CUDA_H_

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace kachi::cuda {

// Largest `channels` the LayerNorm kernels accept (one fp32 row per warp must fit in 48 KB of shared memory).
inline constexpr int64_t kLayerNormMaxChannels = 6144;

// residual_out = a + b (written, rounded to T); out = LayerNorm(residual_out) * weight + bias (written);
// mean, rstd: fp32 [rows] (written). All row-major [rows, channels] except weight/bias [channels]. On `stream`.
template <typename T>
absl::Status ResidualLayerNormForward(T* residual_out, T* out, float* mean, float* rstd, const T* a, const T* b,
                                      const T* weight, const T* bias, int64_t rows, int64_t channels,
                                      cudaStream_t stream);

// Device scratch bytes the LayerNorm backward needs for this shape (block partials of dweight and dbias).
absl::StatusOr<size_t> LayerNormBackwardWorkspaceBytes(int64_t rows, int64_t channels);

// dresidual_out = dresidual_in + d(LayerNorm)/d(residual) applied to dout (they may alias: in place then
// accumulates like the CPU twin); dweight, dbias += their gradients. `residual`, `mean`, `rstd` are the forward's.
// The residual add's backward is then the identity: da = db = dresidual_out. `workspace`: device memory of at
// least LayerNormBackwardWorkspaceBytes bytes.
template <typename T>
absl::Status ResidualLayerNormBackward(T* dresidual_out, const T* dresidual_in, T* dweight, T* dbias, const T* dout,
                                       const T* residual, const T* weight, const float* mean, const float* rstd,
                                       int64_t rows, int64_t channels, void* workspace, size_t workspace_bytes,
                                       cudaStream_t stream);

// Same, with the workspace allocated and freed stream-ordered (cudaMallocAsync / cudaFreeAsync) on `stream`.
template <typename T>
absl::Status ResidualLayerNormBackward(T* dresidual_out, const T* dresidual_in, T* dweight, T* dbias, const T* dout,
                                       const T* residual, const T* weight, const float* mean, const float* rstd,
                                       int64_t rows, int64_t channels, cudaStream_t stream);

namespace internal {

// The forward with `b` optional: b == nullptr normalizes `a` alone and writes no residual (plain LayerNorm).
template <typename T>
absl::Status LaunchLayerNormForward(T* residual_out, T* out, float* mean, float* rstd, const T* a, const T* b,
                                    const T* weight, const T* bias, int64_t rows, int64_t channels,
                                    cudaStream_t stream);

}  // namespace internal
}  // namespace kachi::cuda

#endif  // KACHI_KERNELS_RESIDUAL_LAYERNORM_CUDA_H_
