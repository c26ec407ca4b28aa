// Activations sizing (see activations.h).
#include "runtime/model/activations.h"

namespace kachi {

void Activations::Resize(const ParameterLayout& layout, int64_t new_batch, int64_t new_seq_len) {
  if (new_batch == batch && new_seq_len == seq_len && !encoded.empty()) return;
  batch = new_batch;
  seq_len = new_seq_len;
  const GptShape& s = layout.shape();
  const int64_t tp = layout.tp_size();
  const int64_t n = batch * seq_len;
  const int64_t c = s.width, c_local = s.width / tp, ff_local = 4 * s.width / tp;
  const int64_t heads_local = s.heads / tp, vocab_local = s.padded_vocab / tp;
  encoded.assign(n * c, 0);
  blocks.resize(s.layers);
  for (BlockActivations& b : blocks) {
    b.ln_1.assign(n * c, 0);
    b.ln_1_mean.assign(n, 0);
    b.ln_1_rstd.assign(n, 0);
    b.qkv.assign(n * 3 * c_local, 0);
    b.att.assign(batch * heads_local * seq_len * seq_len, 0);
    b.atty.assign(n * c_local, 0);
    b.residual_2.assign(n * c, 0);
    b.ln_2.assign(n * c, 0);
    b.ln_2_mean.assign(n, 0);
    b.ln_2_rstd.assign(n, 0);
    b.fc.assign(n * ff_local, 0);
    b.fc_gelu.assign(n * ff_local, 0);
    b.residual_3.assign(n * c, 0);
  }
  ln_f.assign(n * c, 0);
  ln_f_mean.assign(n, 0);
  ln_f_rstd.assign(n, 0);
  logits.assign(n * vocab_local, 0);
  for (auto* v : {&row_max, &row_sum, &target_logit, &losses, &d_loss}) v->assign(n, 0);
  d_residual.assign(n * c, 0);
  d_ln.assign(n * c, 0);
  d_atty.assign(n * c_local, 0);
  d_qkv.assign(n * 3 * c_local, 0);
  d_fc.assign(n * ff_local, 0);
  d_fc_gelu.assign(n * ff_local, 0);
  d_logits.assign(n * vocab_local, 0);
  block_out_scratch.assign(n * c, 0);
}

}  // namespace kachi
