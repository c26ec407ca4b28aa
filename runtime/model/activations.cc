// Activations sizing (see activations.h).
#include "runtime/model/activations.h"

namespace kachi {

template <typename T>
void Activations<T>::Resize(const ParameterLayout& layout, ModelOps* ops, int64_t new_batch, int64_t new_seq_len) {
  if (new_batch == batch && new_seq_len == seq_len && !encoded.empty()) return;
  batch = new_batch;
  seq_len = new_seq_len;
  const GptShape& s = layout.shape();
  const int64_t tp = layout.tp_size();
  const int64_t n = batch * seq_len;
  const int64_t c = s.width, c_local = s.width / tp, ff_local = 4 * s.width / tp;
  const int64_t heads_local = s.heads / tp, vocab_local = s.padded_vocab / tp;
  encoded.Reset(ops, n * c);
  blocks.resize(s.layers);
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
    b.residual_3.Reset(ops, n * c);
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
  d_fc_gelu.Reset(ops, n * ff_local);
  block_out_scratch.Reset(ops, n * c);
}

template struct Activations<float>;
template struct Activations<Bf16>;

}  // namespace kachi
