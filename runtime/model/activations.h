// Activations: the buffers a GptModel keeps between its forward and backward pass for one micro-batch shape,
// sized for this rank's tensor-parallel shard, plus the gradient scratch of the backward pass.
#ifndef KACHI_RUNTIME_MODEL_ACTIVATIONS_H_
#define KACHI_RUNTIME_MODEL_ACTIVATIONS_H_

#include <cstdint>
#include <vector>

#include "runtime/model/parameter_layout.h"

namespace kachi {

// Forward activations of one transformer block (rows N = batch * seq_len).
struct BlockActivations {
  std::vector<float> ln_1, ln_1_mean, ln_1_rstd;  // [N, C], [N], [N]
  std::vector<float> qkv;                         // [N, 3 * C_local]
  std::vector<float> att;                         // [batch, heads_local, T, T]
  std::vector<float> atty;                        // [N, C_local]
  std::vector<float> residual_2;                  // [N, C]: input + attention
  std::vector<float> ln_2, ln_2_mean, ln_2_rstd;  // [N, C], [N], [N]
  std::vector<float> fc, fc_gelu;                 // [N, 4C_local]
  std::vector<float> residual_3;                  // [N, C]: block output
};

// All buffers for micro-batches of one (batch, seq_len).
struct Activations {
  int64_t batch = 0, seq_len = 0;
  std::vector<float> encoded;                       // [N, C]: embeddings (block 0 input)
  std::vector<BlockActivations> blocks;
  std::vector<float> ln_f, ln_f_mean, ln_f_rstd;    // [N, C], [N], [N]
  std::vector<float> logits;                        // [N, vocab_local]
  std::vector<float> row_max, row_sum, target_logit, losses;  // [N]
  // Backward scratch.
  std::vector<float> d_residual, d_ln, d_atty, d_qkv, d_fc, d_fc_gelu, d_logits, d_loss;
  std::vector<float> block_out_scratch;             // [N, C]: row-parallel partial sums

  // Sizes every buffer for `layout` and (batch, seq_len); a no-op when already sized for them.
  void Resize(const ParameterLayout& layout, int64_t batch, int64_t seq_len);
};

}  // namespace kachi

#endif  // KACHI_RUNTIME_MODEL_ACTIVATIONS_H_
