// Activations: the buffers a GptModel keeps between its forward and backward pass for one micro-batch shape,
// sized for this rank's tensor-parallel shard, plus the gradient scratch of the backward pass, in the memory of the
// model's ModelOps (host or device).
#ifndef KACHI_RUNTIME_MODEL_ACTIVATIONS_H_
#define KACHI_RUNTIME_MODEL_ACTIVATIONS_H_

#include <cstdint>
#include <vector>

#include "runtime/model/model_ops.h"
#include "runtime/model/parameter_layout.h"

namespace kachi {

// Forward activations of one transformer block (rows N = batch * seq_len).
struct BlockActivations {
  OpsBuffer<float> ln_1, ln_1_mean, ln_1_rstd;  // [N, C], [N], [N]
  OpsBuffer<float> qkv;                         // [N, 3 * C_local]
  OpsBuffer<float> att_stats;                   // ModelOps::AttentionStatsSize
  OpsBuffer<float> atty;                        // [N, C_local]
  OpsBuffer<float> residual_2;                  // [N, C]: input + attention
  OpsBuffer<float> ln_2, ln_2_mean, ln_2_rstd;  // [N, C], [N], [N]
  OpsBuffer<float> fc, fc_gelu;                 // [N, 4C_local]
  OpsBuffer<float> residual_3;                  // [N, C]: block output
};

// All buffers for micro-batches of one (batch, seq_len).
struct Activations {
  int64_t batch = 0, seq_len = 0;
  OpsBuffer<float> encoded;                       // [N, C]: embeddings (block 0 input)
  std::vector<BlockActivations> blocks;
  OpsBuffer<float> ln_f, ln_f_mean, ln_f_rstd;    // [N, C], [N], [N]
  OpsBuffer<float> logits;                        // [N, vocab_local]
  OpsBuffer<float> row_max, row_sum, target_logit, losses;  // [N]
  // Backward scratch.
  OpsBuffer<float> d_residual, d_ln, d_atty, d_qkv, d_fc, d_fc_gelu, d_logits, d_loss;
  OpsBuffer<float> block_out_scratch;             // [N, C]: row-parallel partial sums
  OpsBuffer<float> att_scratch;                   // ModelOps::AttentionScratchSize
  OpsBuffer<int32_t> inputs, targets;             // [N] tokens of the current micro-batch

  // Sizes every buffer for `layout` and (batch, seq_len) in `ops`' memory; a no-op when already sized for them.
  void Resize(const ParameterLayout& layout, ModelOps* ops, int64_t batch, int64_t seq_len);
};

}  // namespace kachi

#endif  // KACHI_RUNTIME_MODEL_ACTIVATIONS_H_
