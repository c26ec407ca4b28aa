// Activations: the buffers a GptModel keeps between its forward and backward pass for one micro-batch shape,
// sized for this rank's tensor-parallel shard, plus the gradient scratch of the backward pass, in the memory of the
// model's ModelOps (host or device). T is the compute type (float, or Bf16 in mixed precision); statistics
// (LayerNorm mean/rstd, attention statistics, cross-entropy pieces, losses) stay fp32.
//
// With activation recompute, only each block's output is kept per layer; one set of block buffers is shared by
// all layers and refilled by recomputing a block's forward just before its backward (about a third more compute,
// activation memory per layer cut from 12-16 [N, C]-sized arrays to one).
#ifndef KACHI_RUNTIME_MODEL_ACTIVATIONS_H_
#define KACHI_RUNTIME_MODEL_ACTIVATIONS_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "runtime/model/model_ops.h"
#include "runtime/model/parameter_layout.h"

namespace kachi {

// Forward activations of one transformer block (rows N = batch * seq_len).
template <typename T>
struct BlockActivations {
  OpsBuffer<T> ln_1;                      // [N, C]
  OpsBuffer<float> ln_1_mean, ln_1_rstd;  // [N], [N]
  OpsBuffer<T> qkv;                       // [N, 3 * C_local]
  OpsBuffer<float> att_stats;             // KernelOps::AttentionStatsSize
  OpsBuffer<T> atty;                      // [N, C_local]
  OpsBuffer<T> residual_2;                // [N, C]: input + attention
  OpsBuffer<T> ln_2;                      // [N, C]
  OpsBuffer<float> ln_2_mean, ln_2_rstd;  // [N], [N]
  OpsBuffer<T> fc, fc_gelu;               // [N, 4C_local]
  OpsBuffer<T> residual_3;                // [N, C]: block output (unused with recompute)
};

// All buffers for micro-batches of one (batch, seq_len).
template <typename T>
struct Activations {
  int64_t batch = 0, seq_len = 0;
  bool recompute = false;
  OpsBuffer<T> encoded;                                     // [N, C]: embeddings (block 0 input)
  std::vector<BlockActivations<T>> blocks;                  // one per layer, or one shared by all layers with recompute
  std::vector<OpsBuffer<T>> block_outputs;                  // with recompute: each layer's output [N, C]
  OpsBuffer<T> ln_f;                                        // [N, C]
  OpsBuffer<float> ln_f_mean, ln_f_rstd;                    // [N], [N]
  OpsBuffer<T> logits;                                      // [N, vocab_local]
  OpsBuffer<float> row_max, row_sum, target_logit, losses;  // [N]
  // Backward scratch.
  OpsBuffer<T> d_residual, d_ln, d_atty, d_qkv, d_fc;  // (the logits gradient is made in place)
  OpsBuffer<float> d_loss;                             // [N]
  OpsBuffer<T> block_out_scratch;                      // [N, C]: row-parallel partial sums
  OpsBuffer<float> att_scratch;                        // KernelOps::AttentionScratchSize
  OpsBuffer<int32_t> inputs, targets;                  // [N] tokens of the current micro-batch

  // Sizes every buffer for `layout`, (batch, seq_len) and the recompute choice in `ops`' memory; a no-op when
  // already sized for them. ResourceExhausted (naming the micro-batch) when a buffer cannot be allocated; the next
  // call then allocates afresh.
  absl::Status Resize(const ParameterLayout& layout, ModelOps* ops, int64_t batch, int64_t seq_len, bool recompute);
  // The buffers of layer `layer` (the shared set with recompute).
  BlockActivations<T>& Block(int64_t layer) { return blocks[recompute ? 0 : layer]; }
  // Layer `layer`'s output, and its input (the previous layer's output, or the embeddings).
  T* BlockOutput(int64_t layer) { return recompute ? block_outputs[layer].data() : blocks[layer].residual_3.data(); }
  T* BlockInput(int64_t layer) { return layer == 0 ? encoded.data() : BlockOutput(layer - 1); }
  // Bytes of every buffer held (what the activations cost in the ops' memory), counted by Resize.
  int64_t bytes() const { return bytes_; }

 private:
  int64_t bytes_ = 0;
};

}  // namespace kachi

#endif  // KACHI_RUNTIME_MODEL_ACTIVATIONS_H_
