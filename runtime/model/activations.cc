// Activations sizing (see activations.h).
#include "runtime/model/activations.h"

#include <algorithm>

namespace kachi {

template <typename T>
void Activations<T>::Resize(const ParameterLayout& layout, ModelOps* ops, int64_t new_batch, int64_t new_seq_len,
                            bool new_recompute) {
  if (new_batch == batch && new_seq_len == seq_len && new_recompute == recompute && !encoded.empty()) return;
  batch = new_batch;
  seq_len = new_seq_len;
  recompute = new_recompute;
  const GptShape& s = layout.shape();
  const int64_t tp = layout.tp_size();
  const int64_t n = batch * seq_len;
  const int64_t c = s.width, c_local = s.width / tp, ff_local = 4 * s.width / tp;
  const int64_t heads_local = s.heads / tp, vocab_local = s.padded_vocab / tp;
  encoded.Reset(ops, n * c);
  blocks.clear();
  blocks.resize(recompute ? std::min<int64_t>(s.layers, 1) : s.layers);
  block_outputs.clear();
  block_outputs.resize(recompute ? s.layers : 0);
  for (OpsBuffer<T>& out : block_outputs) out.Reset(ops, n * c);
  for (BlockActivations<T>& b : blocks) {
    b.ln_1.Reset(ops, n * c);
    b.ln_1_mean.Reset(ops, n);
    b.ln_1_rstd.Reset(ops, n);
    b.qkv.Reset(ops, n * 3 * c_local);
    b.att_stats.Reset(ops, ops->AttentionStatsSize(batch, heads_local, seq_len));
    b.atty.Reset(ops, n * c_local);
    b.residual_2.Reset(ops, n * c);
    b.ln_2.Reset(ops, n * c);
    b.ln_2_mean.Reset(ops, n);
    b.ln_2_rstd.Reset(ops, n);
    b.fc.Reset(ops, n * ff_local);
    b.fc_gelu.Reset(ops, n * ff_local);
    b.residual_3.Reset(ops, recompute ? 0 : n * c);
  }
  ln_f.Reset(ops, n * c);
  ln_f_mean.Reset(ops, n);
  ln_f_rstd.Reset(ops, n);
  logits.Reset(ops, n * vocab_local);
  for (OpsBuffer<float>* v : {&row_max, &row_sum, &target_logit, &losses, &d_loss}) v->Reset(ops, n);
  att_scratch.Reset(ops, ops->AttentionScratchSize(batch, heads_local, seq_len));
  inputs.Reset(ops, n);
  targets.Reset(ops, n);
  d_residual.Reset(ops, n * c);
  d_ln.Reset(ops, n * c);
  d_atty.Reset(ops, n * c_local);
  d_qkv.Reset(ops, n * 3 * c_local);
  d_fc.Reset(ops, n * ff_local);
  block_out_scratch.Reset(ops, n * c);
}

template <typename T>
int64_t Activations<T>::bytes() const {
  int64_t elements_t = encoded.size() + ln_f.size() + logits.size() + d_residual.size() + d_ln.size() +
                       d_atty.size() + d_qkv.size() + d_fc.size() + block_out_scratch.size();
  int64_t floats = ln_f_mean.size() + ln_f_rstd.size() + row_max.size() + row_sum.size() + target_logit.size() +
                   losses.size() + d_loss.size() + att_scratch.size();
  for (const OpsBuffer<T>& out : block_outputs) elements_t += out.size();
  for (const BlockActivations<T>& b : blocks) {
    elements_t += b.ln_1.size() + b.qkv.size() + b.atty.size() + b.residual_2.size() + b.ln_2.size() + b.fc.size() +
                  b.fc_gelu.size() + b.residual_3.size();
    floats += b.ln_1_mean.size() + b.ln_1_rstd.size() + b.att_stats.size() + b.ln_2_mean.size() + b.ln_2_rstd.size();
  }
  const int64_t ints = inputs.size() + targets.size();
  return elements_t * static_cast<int64_t>(sizeof(T)) + floats * static_cast<int64_t>(sizeof(float)) +
         ints * static_cast<int64_t>(sizeof(int32_t));
}

template struct Activations<float>;
template struct Activations<Bf16>;

}  // namespace kachi
