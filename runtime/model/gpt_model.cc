// GptModel forward/backward with Megatron tensor parallelism over a ModelOps (see gpt_model.h).
#include "runtime/model/gpt_model.h"

#include <algorithm>
#include <cmath>
#include <type_traits>

#include "absl/strings/str_cat.h"
#include "comm/status_macros.h"

namespace kachi {

namespace {

template <typename T>
constexpr DType DTypeOf() {
  return std::is_same_v<T, Bf16> ? DType::kBFloat16 : DType::kFloat32;
}

// The smallest tensor index of a block (its gradients are final once the block's backward is done).
int FirstTensorOf(const BlockTensors& t) {
  return std::min({t.ln_1_weight, t.ln_1_bias, t.c_attn_weight, t.c_attn_bias, t.attn_proj_weight,
                   t.attn_proj_bias, t.ln_2_weight, t.ln_2_bias, t.c_fc_weight, t.c_fc_bias, t.mlp_proj_weight,
                   t.mlp_proj_bias});
}

}  // namespace

GptModel::GptModel(const GptShape& shape, Communicator* tp, int64_t pad_to_multiple, ModelOps* ops, DType compute)
    : tp_(tp),
      ops_(ops != nullptr ? ops : &CpuModelOps()),
      compute_(compute == DType::kBFloat16 ? DType::kBFloat16 : DType::kFloat32),
      layout_(shape, tp ? tp->rank() : 0, tp ? tp->size() : 1) {
  buffer_size_ = (layout_.total_size() + pad_to_multiple - 1) / pad_to_multiple * pad_to_multiple;
  if (mixed_precision()) {
    params_bf16_.Reset(ops_, buffer_size_);
    grads_bf16_.Reset(ops_, buffer_size_);
  } else {
    params_.Reset(ops_, buffer_size_);
    grads_.Reset(ops_, buffer_size_);
  }
}

absl::Status GptModel::ZeroGrads() {
  return mixed_precision() ? ops_->Fill(grads_bf16_.data(), 0.0f, buffer_size_)
                           : ops_->Fill(grads_.data(), 0.0f, buffer_size_);
}

absl::Status GptModel::Initialize(uint64_t seed) {
  std::vector<float> host(buffer_size_, 0.0f);
  InitializeParameters(layout_, seed, host.data());
  return SetParameters(host.data());
}

absl::Status GptModel::SetParameters(const float* host) {
  if (!mixed_precision()) return ops_->Upload(params_.data(), host, buffer_size_ * sizeof(float));
  std::vector<Bf16> rounded(buffer_size_);
  for (int64_t i = 0; i < buffer_size_; ++i) rounded[i] = ToBf16(host[i]);
  return ops_->Upload(params_bf16_.data(), rounded.data(), buffer_size_ * sizeof(Bf16));
}

absl::Status GptModel::GetParameters(float* host) const {
  return DownloadAsFloat(host, mixed_precision() ? static_cast<const void*>(params_bf16_.data()) : params_.data(),
                         buffer_size_);
}

absl::Status GptModel::DownloadAsFloat(float* host, const void* data, int64_t count) const {
  if (!mixed_precision()) return ops_->Download(host, data, count * sizeof(float));
  std::vector<Bf16> staged(count);
  KACHI_RETURN_IF_ERROR(ops_->Download(staged.data(), data, count * sizeof(Bf16)));
  for (int64_t i = 0; i < count; ++i) host[i] = ToFloat(staged[i]);
  return absl::OkStatus();
}

absl::Status GptModel::GradientsFinalFrom(int first_final_tensor) {
  return gradients_ready_hook_ ? gradients_ready_hook_(first_final_tensor) : absl::OkStatus();
}

template <typename T>
absl::Status GptModel::TpAllReduce(T* data, int64_t count, ReduceOp op) {
  if (tp_ == nullptr || tp_->size() == 1) return absl::OkStatus();
  // Device work runs on the ops' stream, collectives on the communicator's: order them explicitly.
  if (ops_->device_memory()) KACHI_RETURN_IF_ERROR(ops_->Synchronize());
  KACHI_RETURN_IF_ERROR(tp_->AllReduce(data, data, count, DTypeOf<T>(), op));
  return ops_->device_memory() ? tp_->Synchronize() : absl::OkStatus();
}

absl::StatusOr<float> GptModel::MeanLoss() const {
  const OpsBuffer<float>& row_losses = Losses();
  std::vector<float> losses(row_losses.size());
  KACHI_RETURN_IF_ERROR(ops_->Download(losses.data(), row_losses.data(), losses.size() * sizeof(float)));
  double total = 0;
  for (float loss : losses) total += loss;
  return static_cast<float>(total / static_cast<double>(losses.size()));
}

absl::Status GptModel::Forward(const int32_t* inputs, const int32_t* targets, int64_t batch, int64_t seq_len) {
  const GptShape& s = shape();
  if (batch <= 0 || seq_len <= 0 || seq_len > s.context) {
    return absl::InvalidArgumentError(absl::StrCat("micro-batch [", batch, ", ", seq_len,
                                                   "] does not fit the model (context ", s.context, ")"));
  }
  const int64_t n = batch * seq_len;
  auto outside = [&](int32_t token) { return token < 0 || token >= s.vocab_size; };
  for (int64_t i = 0; i < n; ++i) {
    const bool bad_input = outside(inputs[i]);
    if (bad_input || (targets != nullptr && outside(targets[i]))) {
      return absl::InvalidArgumentError(absl::StrCat(bad_input ? "input" : "target", " token ",
                                                     bad_input ? inputs[i] : targets[i], " at position ", i,
                                                     " is outside the vocabulary [0, ", s.vocab_size, ")"));
    }
  }
  if (mixed_precision()) return ForwardT(acts_bf16_, params_bf16_.data(), inputs, targets, batch, seq_len);
  return ForwardT(acts_, params_.data(), inputs, targets, batch, seq_len);
}

template <typename T>
absl::Status GptModel::ForwardT(Activations<T>& acts, const T* params, const int32_t* inputs,
                                const int32_t* targets, int64_t batch, int64_t seq_len) {
  const GptShape& s = shape();
  const int64_t n = batch * seq_len;
  acts.Resize(layout_, ops_, batch, seq_len);
  KACHI_RETURN_IF_ERROR(ops_->Upload(acts.inputs.data(), inputs, n * sizeof(int32_t)));
  if (targets != nullptr) KACHI_RETURN_IF_ERROR(ops_->Upload(acts.targets.data(), targets, n * sizeof(int32_t)));

  const int tp = layout_.tp_size();
  const int64_t c = s.width, c_local = c / tp, ff_local = 4 * c / tp;
  const int64_t heads_local = s.heads / tp, head_size = s.head_size();
  const int64_t vocab_local = s.padded_vocab / tp, vocab_start = layout_.tp_rank() * vocab_local;
  const int64_t valid_cols = std::clamp<int64_t>(s.vocab_size - vocab_start, 0, vocab_local);
  const bool adds_bias = layout_.tp_rank() == 0;  // replicated row-parallel biases are added once, before the sum
  auto param = [&](int t) { return params + layout_.tensors()[t].offset; };
  ModelOps& ops = *ops_;

  KACHI_RETURN_IF_ERROR(ops.TokenEmbeddingForward(acts.encoded.data(), acts.inputs.data(), param(layout_.wte()),
                                                  n, c, vocab_start, vocab_local));
  KACHI_RETURN_IF_ERROR(TpAllReduce(acts.encoded.data(), n * c, ReduceOp::kSum));
  KACHI_RETURN_IF_ERROR(ops.PositionEmbeddingForward(acts.encoded.data(), param(layout_.wpe()), batch, seq_len, c));

  const T* x = acts.encoded.data();
  T* partial = acts.block_out_scratch.data();
  for (int64_t l = 0; l < s.layers; ++l) {
    const BlockTensors& t = layout_.block(l);
    BlockActivations<T>& a = acts.blocks[l];
    KACHI_RETURN_IF_ERROR(ops.LayerNormForward(a.ln_1.data(), a.ln_1_mean.data(), a.ln_1_rstd.data(), x,
                                               param(t.ln_1_weight), param(t.ln_1_bias), n, c));
    KACHI_RETURN_IF_ERROR(ops.MatmulForward(a.qkv.data(), a.ln_1.data(), param(t.c_attn_weight),
                                            param(t.c_attn_bias), n, c, 3 * c_local));
    KACHI_RETURN_IF_ERROR(ops.AttentionForward(a.atty.data(), a.att_stats.data(), a.qkv.data(), batch, seq_len,
                                               heads_local, head_size));
    KACHI_RETURN_IF_ERROR(ops.MatmulForward(partial, a.atty.data(), param(t.attn_proj_weight),
                                            adds_bias ? param(t.attn_proj_bias) : nullptr, n, c_local, c));
    KACHI_RETURN_IF_ERROR(TpAllReduce(partial, n * c, ReduceOp::kSum));
    KACHI_RETURN_IF_ERROR(ops.ResidualForward(a.residual_2.data(), x, partial, n * c));
    KACHI_RETURN_IF_ERROR(ops.LayerNormForward(a.ln_2.data(), a.ln_2_mean.data(), a.ln_2_rstd.data(),
                                               a.residual_2.data(), param(t.ln_2_weight), param(t.ln_2_bias), n, c));
    KACHI_RETURN_IF_ERROR(ops.MatmulForward(a.fc.data(), a.ln_2.data(), param(t.c_fc_weight), param(t.c_fc_bias), n,
                                            c, ff_local));
    KACHI_RETURN_IF_ERROR(ops.GeluForward(a.fc_gelu.data(), a.fc.data(), n * ff_local));
    KACHI_RETURN_IF_ERROR(ops.MatmulForward(partial, a.fc_gelu.data(), param(t.mlp_proj_weight),
                                            adds_bias ? param(t.mlp_proj_bias) : nullptr, n, ff_local, c));
    KACHI_RETURN_IF_ERROR(TpAllReduce(partial, n * c, ReduceOp::kSum));
    KACHI_RETURN_IF_ERROR(ops.ResidualForward(a.residual_3.data(), a.residual_2.data(), partial, n * c));
    x = a.residual_3.data();
  }
  KACHI_RETURN_IF_ERROR(ops.LayerNormForward(acts.ln_f.data(), acts.ln_f_mean.data(), acts.ln_f_rstd.data(), x,
                                             param(layout_.ln_f_weight()), param(layout_.ln_f_bias()), n, c));
  // Tied LM head: logits over this rank's vocabulary rows.
  KACHI_RETURN_IF_ERROR(ops.MatmulForward(acts.logits.data(), acts.ln_f.data(), param(layout_.wte()), nullptr, n, c,
                                          vocab_local));
  if (targets == nullptr) return absl::OkStatus();

  // Vocab-parallel cross-entropy: global row max, sum of exponentials and target logit.
  KACHI_RETURN_IF_ERROR(ops.CrossEntropyRowMax(acts.row_max.data(), acts.logits.data(), n, vocab_local, valid_cols));
  KACHI_RETURN_IF_ERROR(TpAllReduce(acts.row_max.data(), n, ReduceOp::kMax));
  KACHI_RETURN_IF_ERROR(ops.CrossEntropyRowSumExp(acts.row_sum.data(), acts.logits.data(), acts.row_max.data(), n,
                                                  vocab_local, valid_cols));
  KACHI_RETURN_IF_ERROR(TpAllReduce(acts.row_sum.data(), n, ReduceOp::kSum));
  KACHI_RETURN_IF_ERROR(ops.CrossEntropyTargetLogit(acts.target_logit.data(), acts.logits.data(),
                                                    acts.targets.data(), n, vocab_local, valid_cols, vocab_start));
  KACHI_RETURN_IF_ERROR(TpAllReduce(acts.target_logit.data(), n, ReduceOp::kSum));
  return ops.CrossEntropyLoss(acts.losses.data(), acts.row_max.data(), acts.row_sum.data(),
                              acts.target_logit.data(), n);
}

absl::Status GptModel::Backward(float grad_scale) {
  if (mixed_precision()) return BackwardT(acts_bf16_, params_bf16_.data(), grads_bf16_.data(), grad_scale);
  return BackwardT(acts_, params_.data(), grads_.data(), grad_scale);
}

template <typename T>
absl::Status GptModel::BackwardT(Activations<T>& acts, const T* params, T* grads, float grad_scale) {
  const GptShape& s = shape();
  const int64_t batch = acts.batch, seq_len = acts.seq_len, n = batch * seq_len;
  const int tp = layout_.tp_size();
  const int64_t c = s.width, c_local = c / tp, ff_local = 4 * c / tp;
  const int64_t heads_local = s.heads / tp, head_size = s.head_size();
  const int64_t vocab_local = s.padded_vocab / tp, vocab_start = layout_.tp_rank() * vocab_local;
  const int64_t valid_cols = std::clamp<int64_t>(s.vocab_size - vocab_start, 0, vocab_local);
  auto param = [&](int t) { return params + layout_.tensors()[t].offset; };
  auto grad = [&](int t) { return grads + layout_.tensors()[t].offset; };
  ModelOps& ops = *ops_;
  auto zero = [&](OpsBuffer<T>& buffer) { return ops.Fill(buffer.data(), 0.0f, buffer.size()); };

  KACHI_RETURN_IF_ERROR(ops.Fill(acts.d_loss.data(), grad_scale / static_cast<float>(n), n));
  // In place: the logits become their gradient (the full probabilities are never stored).
  KACHI_RETURN_IF_ERROR(ops.CrossEntropyBackward(acts.logits.data(), acts.logits.data(), acts.row_max.data(),
                                                 acts.row_sum.data(), acts.targets.data(), acts.d_loss.data(), n,
                                                 vocab_local, valid_cols, vocab_start));
  KACHI_RETURN_IF_ERROR(zero(acts.d_ln));
  KACHI_RETURN_IF_ERROR(ops.MatmulBackward(acts.d_ln.data(), grad(layout_.wte()), nullptr, acts.logits.data(),
                                           acts.ln_f.data(), param(layout_.wte()), n, c, vocab_local));
  KACHI_RETURN_IF_ERROR(TpAllReduce(acts.d_ln.data(), n * c, ReduceOp::kSum));
  const T* last = s.layers > 0 ? acts.blocks.back().residual_3.data() : acts.encoded.data();
  KACHI_RETURN_IF_ERROR(zero(acts.d_residual));
  KACHI_RETURN_IF_ERROR(ops.LayerNormBackward(acts.d_residual.data(), grad(layout_.ln_f_weight()),
                                              grad(layout_.ln_f_bias()), acts.d_ln.data(), last,
                                              param(layout_.ln_f_weight()), acts.ln_f_mean.data(),
                                              acts.ln_f_rstd.data(), n, c));
  KACHI_RETURN_IF_ERROR(GradientsFinalFrom(std::min(layout_.ln_f_weight(), layout_.ln_f_bias())));

  for (int64_t l = s.layers - 1; l >= 0; --l) {
    const BlockTensors& t = layout_.block(l);
    BlockActivations<T>& a = acts.blocks[l];
    const T* x = l == 0 ? acts.encoded.data() : acts.blocks[l - 1].residual_3.data();
    // d_residual holds dL/d(block output). MLP: row-parallel projection, GELU, column-parallel fc.
    KACHI_RETURN_IF_ERROR(zero(acts.d_fc_gelu));
    KACHI_RETURN_IF_ERROR(ops.MatmulBackward(acts.d_fc_gelu.data(), grad(t.mlp_proj_weight), grad(t.mlp_proj_bias),
                                             acts.d_residual.data(), a.fc_gelu.data(), param(t.mlp_proj_weight), n,
                                             ff_local, c));
    KACHI_RETURN_IF_ERROR(zero(acts.d_fc));
    KACHI_RETURN_IF_ERROR(ops.GeluBackward(acts.d_fc.data(), a.fc.data(), acts.d_fc_gelu.data(), n * ff_local));
    KACHI_RETURN_IF_ERROR(zero(acts.d_ln));
    KACHI_RETURN_IF_ERROR(ops.MatmulBackward(acts.d_ln.data(), grad(t.c_fc_weight), grad(t.c_fc_bias),
                                             acts.d_fc.data(), a.ln_2.data(), param(t.c_fc_weight), n, c, ff_local));
    KACHI_RETURN_IF_ERROR(TpAllReduce(acts.d_ln.data(), n * c, ReduceOp::kSum));
    KACHI_RETURN_IF_ERROR(ops.LayerNormBackward(acts.d_residual.data(), grad(t.ln_2_weight), grad(t.ln_2_bias),
                                                acts.d_ln.data(), a.residual_2.data(), param(t.ln_2_weight),
                                                a.ln_2_mean.data(), a.ln_2_rstd.data(), n, c));
    // d_residual now holds dL/d(residual_2). Attention: row-parallel projection, attention, column-parallel qkv.
    KACHI_RETURN_IF_ERROR(zero(acts.d_atty));
    KACHI_RETURN_IF_ERROR(ops.MatmulBackward(acts.d_atty.data(), grad(t.attn_proj_weight), grad(t.attn_proj_bias),
                                             acts.d_residual.data(), a.atty.data(), param(t.attn_proj_weight), n,
                                             c_local, c));
    KACHI_RETURN_IF_ERROR(zero(acts.d_qkv));
    KACHI_RETURN_IF_ERROR(ops.AttentionBackward(acts.d_qkv.data(), acts.d_atty.data(), a.qkv.data(), a.atty.data(),
                                                a.att_stats.data(), acts.att_scratch.data(), batch, seq_len,
                                                heads_local, head_size));
    KACHI_RETURN_IF_ERROR(zero(acts.d_ln));
    KACHI_RETURN_IF_ERROR(ops.MatmulBackward(acts.d_ln.data(), grad(t.c_attn_weight), grad(t.c_attn_bias),
                                             acts.d_qkv.data(), a.ln_1.data(), param(t.c_attn_weight), n, c,
                                             3 * c_local));
    KACHI_RETURN_IF_ERROR(TpAllReduce(acts.d_ln.data(), n * c, ReduceOp::kSum));
    KACHI_RETURN_IF_ERROR(ops.LayerNormBackward(acts.d_residual.data(), grad(t.ln_1_weight), grad(t.ln_1_bias),
                                                acts.d_ln.data(), x, param(t.ln_1_weight), a.ln_1_mean.data(),
                                                a.ln_1_rstd.data(), n, c));
    KACHI_RETURN_IF_ERROR(GradientsFinalFrom(FirstTensorOf(t)));
  }
  // d_residual holds dL/d(embeddings).
  KACHI_RETURN_IF_ERROR(ops.PositionEmbeddingBackward(grad(layout_.wpe()), acts.d_residual.data(), batch, seq_len, c));
  KACHI_RETURN_IF_ERROR(ops.TokenEmbeddingBackward(grad(layout_.wte()), acts.d_residual.data(), acts.inputs.data(), n,
                                                   c, vocab_start, vocab_local));
  return GradientsFinalFrom(0);
}

absl::StatusOr<float> GptModel::ForwardBackward(const int32_t* inputs, const int32_t* targets, int64_t batch,
                                                int64_t seq_len, float grad_scale) {
  if (targets == nullptr) return absl::InvalidArgumentError("ForwardBackward needs targets");
  KACHI_RETURN_IF_ERROR(Forward(inputs, targets, batch, seq_len));
  KACHI_RETURN_IF_ERROR(Backward(grad_scale));
  return MeanLoss();
}

absl::StatusOr<float> GptModel::Loss(const int32_t* inputs, const int32_t* targets, int64_t batch,
                                     int64_t seq_len) {
  if (targets == nullptr) return absl::InvalidArgumentError("Loss needs targets");
  KACHI_RETURN_IF_ERROR(Forward(inputs, targets, batch, seq_len));
  return MeanLoss();
}

absl::StatusOr<std::vector<float>> GptModel::LocalLogits() const {
  const int64_t count = mixed_precision() ? acts_bf16_.logits.size() : acts_.logits.size();
  std::vector<float> host(count);
  KACHI_RETURN_IF_ERROR(DownloadAsFloat(
      host.data(), mixed_precision() ? static_cast<const void*>(acts_bf16_.logits.data()) : acts_.logits.data(),
      count));
  return host;
}

absl::StatusOr<std::vector<float>> GptModel::LastLogits(const int32_t* tokens, int64_t length) {
  KACHI_RETURN_IF_ERROR(Forward(tokens, nullptr, 1, length));
  const GptShape& s = shape();
  const int64_t vocab_local = s.padded_vocab / layout_.tp_size();
  // This rank's last row, as fp32 in this ops' memory.
  OpsBuffer<float> last_row(ops_, vocab_local);
  if (mixed_precision()) {
    KACHI_RETURN_IF_ERROR(ops_->Convert(last_row.data(), acts_bf16_.logits.data() + (length - 1) * vocab_local,
                                        vocab_local));
  } else {
    KACHI_RETURN_IF_ERROR(ops_->CopyAsync(last_row.data(), acts_.logits.data() + (length - 1) * vocab_local,
                                          vocab_local * sizeof(float)));
  }
  std::vector<float> full(s.padded_vocab);
  if (tp_ == nullptr || tp_->size() == 1) {
    KACHI_RETURN_IF_ERROR(ops_->Download(full.data(), last_row.data(), vocab_local * sizeof(float)));
  } else {
    OpsBuffer<float> gathered(ops_, s.padded_vocab);
    KACHI_RETURN_IF_ERROR(ops_->Synchronize());
    KACHI_RETURN_IF_ERROR(tp_->AllGather(last_row.data(), gathered.data(), vocab_local, DType::kFloat32));
    KACHI_RETURN_IF_ERROR(tp_->Synchronize());
    KACHI_RETURN_IF_ERROR(ops_->Download(full.data(), gathered.data(), full.size() * sizeof(float)));
  }
  full.resize(s.vocab_size);
  return full;
}

}  // namespace kachi
