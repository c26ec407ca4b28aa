// The kernel ops of KernelOps, listed once (X-macros). Everything that wraps or implements every kernel op is
// generated from these lists: KernelOps' declarations (kernel_ops.h), ProfilingOps' timed forwarding
// (profiling_ops.h), the CPU ops' calls of the reference kernels (cpu_model_ops.cc) and the CUDA ops' calls of the
// CUDA kernels (cuda_model_ops.cc) and the bf16 host emulation (bf16_emulation.cc). Each entry is
// X(Return, Name, (parameters), (arguments), (extents)); extents, for the ops the host emulates by widening, give
// each argument's element count (0: not a bf16 array). The math of each op is its CPU twin's (kernels/README.md
// maps op -> files). Adding an op: one entry here, the kernel pair in kernels/, and the call in the model.
#ifndef KACHI_RUNTIME_MODEL_KERNEL_OP_LIST_H_
#define KACHI_RUNTIME_MODEL_KERNEL_OP_LIST_H_

// The argument list of an entry without its parentheses.
#define KACHI_OP_ARGS(...) __VA_ARGS__

// Ops in both precisions with the same argument names: T is float (fp32) or Bf16 (mixed precision: bf16
// activations, parameters and gradients; LayerNorm mean/rstd, attention statistics and cross-entropy pieces stay
// fp32). Accumulating outputs are noted in the kernels' headers.
#define KACHI_WIDENED_KERNEL_OPS(X, T)                                                                                 \
  /* kernels/token_embedding.h, kernels/position_embedding.h */                                                        \
  X(absl::Status, TokenEmbeddingForward,                                                                               \
    (T * out, const int32_t* tokens, const T* table, int64_t count, int64_t channels, int64_t vocab_start,             \
     int64_t vocab_rows),                                                                                              \
    (out, tokens, table, count, channels, vocab_start, vocab_rows),                                                    \
    (count * channels, 0, vocab_rows * channels, 0, 0, 0, 0))                                                          \
  X(absl::Status, TokenEmbeddingBackward,                                                                              \
    (T * dtable, const T* dout, const int32_t* tokens, int64_t count, int64_t channels, int64_t vocab_start,           \
     int64_t vocab_rows),                                                                                              \
    (dtable, dout, tokens, count, channels, vocab_start, vocab_rows),                                                  \
    (vocab_rows * channels, count * channels, 0, 0, 0, 0, 0))                                                          \
  X(absl::Status, PositionEmbeddingForward, (T * out, const T* wpe, int64_t batch, int64_t seq_len, int64_t channels), \
    (out, wpe, batch, seq_len, channels), (batch * seq_len * channels, seq_len * channels, 0, 0, 0))                   \
  X(absl::Status, PositionEmbeddingBackward,                                                                           \
    (T * dwpe, const T* dout, int64_t batch, int64_t seq_len, int64_t channels),                                       \
    (dwpe, dout, batch, seq_len, channels), (seq_len * channels, batch * seq_len * channels, 0, 0, 0))                 \
  /* kernels/layernorm.h */                                                                                            \
  X(absl::Status, LayerNormForward,                                                                                    \
    (T * out, float* mean, float* rstd, const T* in, const T* weight, const T* bias, int64_t rows, int64_t channels),  \
    (out, mean, rstd, in, weight, bias, rows, channels),                                                               \
    (rows * channels, 0, 0, rows * channels, channels, channels, 0, 0))                                                \
  X(absl::Status, LayerNormBackward,                                                                                   \
    (T * din, T * dweight, T * dbias, const T* dout, const T* in, const T* weight, const float* mean,                  \
     const float* rstd, int64_t rows, int64_t channels),                                                               \
    (din, dweight, dbias, dout, in, weight, mean, rstd, rows, channels),                                               \
    (rows * channels, channels, channels, rows * channels, rows * channels, channels, 0, 0, 0, 0))                     \
  /* kernels/matmul.h */                                                                                               \
  X(absl::Status, MatmulForward,                                                                                       \
    (T * out, const T* in, const T* weight, const T* bias, int64_t rows, int64_t in_channels, int64_t out_channels),   \
    (out, in, weight, bias, rows, in_channels, out_channels),                                                          \
    (rows * out_channels, rows * in_channels, out_channels * in_channels, out_channels, 0, 0, 0))                      \
  X(absl::Status, MatmulBackward,                                                                                      \
    (T * din, T * dweight, T * dbias, const T* dout, const T* in, const T* weight, int64_t rows, int64_t in_channels,  \
     int64_t out_channels),                                                                                            \
    (din, dweight, dbias, dout, in, weight, rows, in_channels, out_channels),                                          \
    (rows * in_channels, out_channels * in_channels, out_channels, rows * out_channels, rows * in_channels,            \
     out_channels * in_channels, 0, 0, 0))                                                                             \
  /* kernels/gelu.h, kernels/residual.h */                                                                             \
  X(absl::Status, GeluForward, (T * out, const T* in, int64_t count), (out, in, count), (count, count, 0))             \
  X(absl::Status, GeluBackward, (T * din, const T* in, const T* dout, int64_t count), (din, in, dout, count),          \
    (count, count, count, 0))                                                                                          \
  X(absl::Status, ResidualForward, (T * out, const T* a, const T* b, int64_t count), (out, a, b, count),               \
    (count, count, count, 0))                                                                                          \
  /* Fused (kernels/matmul_gelu.h): pre_gelu = in @ weight^T + bias and out = gelu(pre_gelu), both written; */         \
  /* backward: dpre_gelu = gelu'(pre_gelu) * (dout @ weight) written, dpre_bias (may be null), dweight, dbias */       \
  /* (may be null) accumulated. The bf16 host emulation rounds once at the end, like a fused epilogue. */              \
  X(absl::Status, MatmulGeluForward,                                                                                   \
    (T * out, T * pre_gelu, const T* in, const T* weight, const T* bias, int64_t rows, int64_t in_channels,            \
     int64_t out_channels),                                                                                            \
    (out, pre_gelu, in, weight, bias, rows, in_channels, out_channels),                                                \
    (rows * out_channels, rows * out_channels, rows * in_channels, out_channels * in_channels, out_channels, 0, 0, 0)) \
  /* kernels/attention.h: stats are backend-specific (AttentionStatsSize); backward accumulates into dqkv, */          \
  /* `out` is the forward's output, scratch has AttentionScratchSize floats. */                                        \
  X(absl::Status, AttentionForward,                                                                                    \
    (T * out, float* stats, const T* qkv, int64_t batch, int64_t seq_len, int64_t heads, int64_t head_size),           \
    (out, stats, qkv, batch, seq_len, heads, head_size),                                                               \
    (batch * seq_len * heads * head_size, 0, 3 * batch * seq_len * heads * head_size, 0, 0, 0, 0))                     \
  X(absl::Status, AttentionBackward,                                                                                   \
    (T * dqkv, const T* dout, const T* qkv, const T* out, const float* stats, float* scratch, int64_t batch,           \
     int64_t seq_len, int64_t heads, int64_t head_size),                                                               \
    (dqkv, dout, qkv, out, stats, scratch, batch, seq_len, heads, head_size),                                          \
    (3 * batch * seq_len * heads * head_size, batch * seq_len * heads * head_size,                                     \
     3 * batch * seq_len * heads * head_size, batch * seq_len * heads * head_size, 0, 0, 0, 0, 0, 0))                  \
  /* Vocab-parallel cross-entropy pieces (kernels/cross_entropy.h). */                                                 \
  X(absl::Status, CrossEntropyRowMax,                                                                                  \
    (float* row_max, const T* logits, int64_t rows, int64_t cols, int64_t valid_cols),                                 \
    (row_max, logits, rows, cols, valid_cols), (0, rows * cols, 0, 0, 0))                                              \
  X(absl::Status, CrossEntropyRowSumExp,                                                                               \
    (float* row_sum, const T* logits, const float* row_max, int64_t rows, int64_t cols, int64_t valid_cols),           \
    (row_sum, logits, row_max, rows, cols, valid_cols), (0, rows * cols, 0, 0, 0, 0))                                  \
  X(absl::Status, CrossEntropyTargetLogit,                                                                             \
    (float* target_logit, const T* logits, const int32_t* targets, int64_t rows, int64_t cols, int64_t valid_cols,     \
     int64_t vocab_start),                                                                                             \
    (target_logit, logits, targets, rows, cols, valid_cols, vocab_start), (0, rows * cols, 0, 0, 0, 0, 0))             \
  X(absl::Status, CrossEntropyBackward,                                                                                \
    (T * dlogits, const T* logits, const float* row_max, const float* row_sum, const int32_t* targets,                 \
     const float* dloss, int64_t rows, int64_t cols, int64_t valid_cols, int64_t vocab_start),                         \
    (dlogits, logits, row_max, row_sum, targets, dloss, rows, cols, valid_cols, vocab_start),                          \
    (rows * cols, rows * cols, 0, 0, 0, 0, 0, 0, 0, 0))

// Ops in both precisions whose bf16 host emulation is written by hand (bf16_emulation.cc): fills, the sum of
// squares (accumulated in double, kernels/sum_of_squares.h) and the fused matmul backward through GELU (its bias
// gradient sums the rounded dpre_gelu, as the GPU's column-sum kernel does).
#define KACHI_HAND_EMULATED_KERNEL_OPS(X, T)                                                                 \
  /* data[i] = value; data[i] *= scale. */                                                                   \
  X(absl::Status, Fill, (T * data, float value, int64_t count), (data, value, count), ())                    \
  X(absl::Status, Scale, (T * data, float scale, int64_t count), (data, scale, count), ())                   \
  X(absl::Status, MatmulBackwardThroughGelu,                                                                 \
    (T * dpre_gelu, T * dpre_bias, T * dweight, T * dbias, const T* dout, const T* in, const T* weight,      \
     const T* pre_gelu, int64_t rows, int64_t in_channels, int64_t out_channels),                            \
    (dpre_gelu, dpre_bias, dweight, dbias, dout, in, weight, pre_gelu, rows, in_channels, out_channels), ()) \
  X(absl::StatusOr<double>, SumOfSquares, (const T* data, int64_t count), (data, count), ())

// Every op in both precisions.
#define KACHI_KERNEL_OPS(X, T) KACHI_WIDENED_KERNEL_OPS(X, T) KACHI_HAND_EMULATED_KERNEL_OPS(X, T)

// Fused ops that KernelOps composes from other ops by default (fused_op_defaults.cc); device ops override them.
// residual_out = a + b; out = LayerNorm(residual_out) * weight + bias; mean, rstd of the rows (all written); the
// LayerNorm normalizes residual_out as stored (in bf16: the rounded sum).
#define KACHI_COMPOSED_KERNEL_OPS(X, T)                                                                           \
  X(absl::Status, ResidualLayerNormForward,                                                                       \
    (T * residual_out, T * out, float* mean, float* rstd, const T* a, const T* b, const T* weight, const T* bias, \
     int64_t rows, int64_t channels),                                                                             \
    (residual_out, out, mean, rstd, a, b, weight, bias, rows, channels), ())

// fp32-only ops.
#define KACHI_FP32_KERNEL_OPS(X)                                                                             \
  X(absl::Status, CrossEntropyLoss,                                                                          \
    (float* loss, const float* row_max, const float* row_sum, const float* target_logit, int64_t rows),      \
    (loss, row_max, row_sum, target_logit, rows), ())                                                        \
  /* kernels/adamw.h; fp32 mode: the parameters are the master weights. */                                   \
  X(absl::Status, AdamWStep,                                                                                 \
    (float* param, const float* grad, float* m, float* v, int64_t count, double learning_rate, double beta1, \
     double beta2, double eps, double weight_decay, int64_t step),                                           \
    (param, grad, m, v, count, learning_rate, beta1, beta2, eps, weight_decay, step), ())

// bf16-only ops.
#define KACHI_BF16_KERNEL_OPS(X)                                                                                 \
  /* dst[i] = round_to_bf16(src[i]) and dst[i] = float(src[i]). */                                               \
  X(absl::Status, Convert, (Bf16 * dst, const float* src, int64_t count), (dst, src, count), ())                 \
  X(absl::Status, Convert, (float* dst, const Bf16* src, int64_t count), (dst, src, count), ())                  \
  /* AdamW with fp32 master weights: grad (bf16) times grad_scale updates master, m, v; param = bf16(master). */ \
  X(absl::Status, AdamWStep,                                                                                     \
    (float* master, Bf16* param, const Bf16* grad, float* m, float* v, int64_t count, double learning_rate,      \
     double beta1, double beta2, double eps, double weight_decay, int64_t step, float grad_scale),               \
    (master, param, grad, m, v, count, learning_rate, beta1, beta2, eps, weight_decay, step, grad_scale), ())

#endif  // KACHI_RUNTIME_MODEL_KERNEL_OP_LIST_H_
