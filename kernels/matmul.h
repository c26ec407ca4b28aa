// Matmul with optional bias, weights stored as [out_channels, in_channels] (PyTorch nn.Linear / llm.c layout).
// Tensor-parallel callers use it on local shards: column-parallel layers pass their slice of weight rows (and
// bias) and get their slice of output columns; row-parallel layers pass their slice of input columns, get a
// partial sum to all-reduce, and pass the bias on one rank only (nullptr elsewhere).
#ifndef KACHI_KERNELS_MATMUL_H_
#define KACHI_KERNELS_MATMUL_H_

#include <cstdint>

namespace kachi::cpu {

// out[n, o] = sum_i in[n, i] * weight[o, i] + bias[o]   (out written, not accumulated)
// in: [rows, in_channels], weight: [out_channels, in_channels], bias: [out_channels] or nullptr (no bias),
// out: [rows, out_channels].
template <typename T>
void MatmulForward(T* out, const T* in, const T* weight, const T* bias, int64_t rows, int64_t in_channels,
                   int64_t out_channels);

// Accumulates (+=) the gradients of MatmulForward given dout [rows, out_channels]:
//   din [rows, in_channels] (skipped when nullptr), dweight [out_channels, in_channels],
//   dbias [out_channels] (skipped when nullptr). Sums over rows run in order n = 0, 1, ... (deterministic).
template <typename T>
void MatmulBackward(T* din, T* dweight, T* dbias, const T* dout, const T* in, const T* weight, int64_t rows,
                    int64_t in_channels, int64_t out_channels);

}  // namespace kachi::cpu

#endif  // KACHI_KERNELS_MATMUL_H_
