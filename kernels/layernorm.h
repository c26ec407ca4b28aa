// LayerNorm over the last dimension (eps 1e-5), as in GPT-2. Replicated on every tensor-parallel rank.
#ifndef KACHI_KERNELS_LAYERNORM_H_
#define KACHI_KERNELS_LAYERNORM_H_

#include <cstdint>

namespace kachi::cpu {

// Epsilon added to the variance before the reciprocal square root.
inline constexpr double kLayerNormEps = 1e-5;

// For each of the `rows` rows of in: [rows, channels]:
//   mean[r] = mean(in[r, :]); rstd[r] = 1 / sqrt(var(in[r, :]) + eps)  (biased variance)
//   out[r, c] = (in[r, c] - mean[r]) * rstd[r] * weight[c] + bias[c]
// out is written; mean and rstd ([rows] each) are kept for the backward pass.
template <typename T>
void LayerNormForward(T* out, T* mean, T* rstd, const T* in, const T* weight, const T* bias, int64_t rows,
                      int64_t channels);

// Accumulates (+=) the gradients of LayerNormForward: din [rows, channels], dweight and dbias [channels], from
// dout [rows, channels] and the forward's in, weight, mean and rstd.
template <typename T>
void LayerNormBackward(T* din, T* dweight, T* dbias, const T* dout, const T* in, const T* weight, const T* mean,
                       const T* rstd, int64_t rows, int64_t channels);

}  // namespace kachi::cpu

#endif  // KACHI_KERNELS_LAYERNORM_H_
