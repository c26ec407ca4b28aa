// Activations sizing (see activations.h).
#include "runtime/model/activations.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace kachi {

template <typename T>
absl::Status Activations<T>::Resize(const ParameterLayout& layout, ModelOps* ops, int64_t new_batch,
                                    int64_t new_seq_len, bool new_recompute) {
  if (new_batch == batch && new_seq_len == seq_len && new_recompute == recompute && !encoded.empty()) {
    return absl::OkStatus();
  }
  batch = new_batch;
  seq_len = new_seq_len;
  recompute = new_recompute;
  const GptShape& s = layout.shape();
  const int64_t tp = layout.tp_size();
  const int64_t n = batch * seq_len;
  const int64_t c = s.width, c_local = s.width / tp, ff_local = 4 * s.width / tp;
  const int64_t heads_local = s.heads / tp, vocab_local = s.padded_vocab / tp;
  // Every buffer is (re)allocated through `size`, which also counts its bytes and keeps the first failure.
  bytes_ = 0;
  absl::Status failure;
  auto size = [&](auto& buffer, int64_t count) {
    buffer.Reset(ops, count);
    bytes_ += count * static_cast<int64_t>(sizeof(*buffer.data()));
    if (failure.ok()) failure = buffer.status();
  };
  size(encoded, n * c);
  blocks.clear();
  blocks.resize(recompute ? std::min<int64_t>(s.layers, 1) : s.layers);
  block_outputs.clear();
  block_outputs.resize(recompute ? s.layers : 0);
  for (OpsBuffer<T>& out : block_outputs) size(out, n * c);
  for (BlockActivations<T>& b : blocks) {
    size(b.ln_1, n * c);
    size(b.ln_1_mean, n);
    size(b.ln_1_rstd, n);
    size(b.qkv, n * 3 * c_local);
    size(b.att_stats, ops->AttentionStatsSize(batch, heads_local, seq_len));
    size(b.atty, n * c_local);
    size(b.residual_2, n * c);
    size(b.ln_2, n * c);
    size(b.ln_2_mean, n);
    size(b.ln_2_rstd, n);
    size(b.fc, n * ff_local);
    size(b.fc_gelu, n * ff_local);
    size(b.residual_3, recompute ? 0 : n * c);
  }
  size(ln_f, n * c);
  size(ln_f_mean, n);
  size(ln_f_rstd, n);
  size(logits, n * vocab_local);
  for (OpsBuffer<float>* v : {&row_max, &row_sum, &target_logit, &losses, &d_loss}) size(*v, n);
  size(att_scratch, ops->AttentionScratchSize(batch, heads_local, seq_len));
  size(inputs, n);
  size(targets, n);
  size(d_residual, n * c);
  size(d_ln, n * c);
  size(d_atty, n * c_local);
  size(d_qkv, n * 3 * c_local);
  size(d_fc, n * ff_local);
  size(block_out_scratch, n * c);
  if (failure.ok()) return absl::OkStatus();
  batch = 0;  // not sized: the next call allocates again
  return absl::ResourceExhaustedError(absl::StrCat("activations of a micro-batch of ", new_batch, " x ", new_seq_len,
                                                   " tokens (", bytes_, " bytes): ", failure.message()));
}

template struct Activations<float>;
template struct Activations<Bf16>;

}  // namespace kachi
