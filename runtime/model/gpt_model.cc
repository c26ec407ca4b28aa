// GptModel forward/backward with Megatron tensor parallelism over a ModelOps (see gpt_model.h).
#include "runtime/model/gpt_model.h"

#include <algorithm>
#include <cmath>
#include <type_traits>

#include "absl/strings/str_cat.h"
#include "kernels/base/status_macros.h"

namespace kachi {

namespace {

template <typename T>
constexpr DType DTypeOf() {
  return std::is_same_v<T, Bf16> ? DType::kBFloat16 : DType::kFloat32;
}

// The smallest tensor index of a block (its gradients are final once the block's backward is done).
int FirstTensorOf(const BlockTensors& t) {
  return std::min({t.ln_1_weight, t.ln_1_bias, t.c_attn_weight, t.c_attn_bias, t.attn_proj_weight, t.attn_proj_bias,
                   t.ln_2_weight, t.ln_2_bias, t.c_fc_weight, t.c_fc_bias, t.mlp_proj_weight, t.mlp_proj_bias});
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

absl::Status GptModel::allocation_status() const {
  absl::Status status = mixed_precision() ? params_bf16_.status() : params_.status();
  if (status.ok()) status = mixed_precision() ? grads_bf16_.status() : grads_.status();
  if (status.ok()) return status;
  return absl::ResourceExhaustedError(absl::StrCat("model parameters: ", status.message()));
}

absl::Status GptModel::ZeroGrads() {
  KACHI_RETURN_IF_ERROR(allocation_status());
  return mixed_precision() ? ops_->Fill(grads_bf16_.data(), 0.0f, buffer_size_)
                           : ops_->Fill(grads_.data(), 0.0f, buffer_size_);
}

absl::Status GptModel::Initialize(uint64_t seed) {
  std::vector<float> host(buffer_size_, 0.0f);
  InitializeParameters(layout_, seed, host.data());
  return SetParameters(host.data());
}

absl::Status GptModel::SetParameters(const float* host) {
  KACHI_RETURN_IF_ERROR(allocation_status());
  if (!mixed_precision()) return ops_->Upload(params_.data(), host, buffer_size_ * sizeof(float));
  std::vector<Bf16> rounded(buffer_size_);
  for (int64_t i = 0; i < buffer_size_; ++i) rounded[i] = ToBf16(host[i]);
  return ops_->Upload(params_bf16_.data(), rounded.data(), buffer_size_ * sizeof(Bf16));
}

absl::Status GptModel::GetParameters(float* host) const {
  KACHI_RETURN_IF_ERROR(allocation_status());
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
  if (!ops_->device_memory()) return tp_->AllReduce(data, data, count, DTypeOf<T>(), op);
  // Device work runs on the ops' stream, collectives on the communicator's: the collective waits for an event of
  // the compute stream (NCCL: on its stream, no host block), and the host for the collective before work goes on.
  absl::StatusOr<void*> event = ops_->RecordEvent();
  if (!event.ok()) return event.status();
  absl::Status status = tp_->WaitEvent(*event);
  if (status.ok()) status = tp_->AllReduce(data, data, count, DTypeOf<T>(), op);
  if (status.ok()) status = tp_->Synchronize();
  ops_->ReleaseEvent(*event);
  return status;
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
  KACHI_RETURN_IF_ERROR(allocation_status());
  const GptShape& s = shape();
  if (batch <= 0 || seq_len <= 0 || seq_len > s.context) {
    return absl::InvalidArgumentError(
        absl::StrCat("micro-batch [", batch, ", ", seq_len, "] does not fit the model (context ", s.context, ")"));
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

// The per-rank sizes of the tensor-parallel shard.
struct GptModel::LocalSizes {
  int64_t c, c_local, ff_local, heads_local, head_size, vocab_local, vocab_start, valid_cols;
};

GptModel::LocalSizes GptModel::Local() const {
  const GptShape& s = shape();
  const int tp = layout_.tp_size();
  LocalSizes z;
  z.c = s.width;
  z.c_local = s.width / tp;
  z.ff_local = 4 * s.width / tp;
  z.heads_local = s.heads / tp;
  z.head_size = s.head_size();
  z.vocab_local = s.padded_vocab / tp;
  z.vocab_start = layout_.tp_rank() * z.vocab_local;
  z.valid_cols = std::clamp<int64_t>(s.vocab_size - z.vocab_start, 0, z.vocab_local);
  return z;
}

template <typename T>
absl::Status GptModel::ForwardT(Activations<T>& acts, const T* params, const int32_t* inputs, const int32_t* targets,
                                int64_t batch, int64_t seq_len) {
  const GptShape& s = shape();
  const int64_t n = batch * seq_len;
  KACHI_RETURN_IF_ERROR(acts.Resize(layout_, ops_, batch, seq_len, recompute_));
  KACHI_RETURN_IF_ERROR(ops_->Upload(acts.inputs.data(), inputs, n * sizeof(int32_t)));
  if (targets != nullptr) KACHI_RETURN_IF_ERROR(ops_->Upload(acts.targets.data(), targets, n * sizeof(int32_t)));

  const LocalSizes z = Local();
  auto param = [&](int t) { return params + layout_.tensors()[t].offset; };
  ModelOps& ops = *ops_;

  KACHI_RETURN_IF_ERROR(ops.TokenEmbeddingForward(acts.encoded.data(), acts.inputs.data(), param(layout_.wte()), n, z.c,
                                                  z.vocab_start, z.vocab_local));
  KACHI_RETURN_IF_ERROR(TpAllReduce(acts.encoded.data(), n * z.c, ReduceOp::kSum));
  KACHI_RETURN_IF_ERROR(ops.PositionEmbeddingForward(acts.encoded.data(), param(layout_.wpe()), batch, seq_len, z.c));
  // Each block's first LayerNorm is fused with the previous block's last residual add; block 0's stands alone.
  if (s.layers == 0) {
    KACHI_RETURN_IF_ERROR(ops.LayerNormForward(acts.ln_f.data(), acts.ln_f_mean.data(), acts.ln_f_rstd.data(),
                                               acts.encoded.data(), param(layout_.ln_f_weight()),
                                               param(layout_.ln_f_bias()), n, z.c));
  } else {
    KACHI_RETURN_IF_ERROR(BlockInputLayerNorm(acts, params, 0));
  }
  for (int64_t l = 0; l < s.layers; ++l) KACHI_RETURN_IF_ERROR(ForwardBlock(acts, params, l, /*recomputing=*/false));
  // Tied LM head: logits over this rank's vocabulary rows.
  KACHI_RETURN_IF_ERROR(
      ops.MatmulForward(acts.logits.data(), acts.ln_f.data(), param(layout_.wte()), nullptr, n, z.c, z.vocab_local));
  if (targets == nullptr) return absl::OkStatus();

  // Vocab-parallel cross-entropy: global row max, sum of exponentials and target logit.
  KACHI_RETURN_IF_ERROR(
      ops.CrossEntropyRowMax(acts.row_max.data(), acts.logits.data(), n, z.vocab_local, z.valid_cols));
  KACHI_RETURN_IF_ERROR(TpAllReduce(acts.row_max.data(), n, ReduceOp::kMax));
  KACHI_RETURN_IF_ERROR(ops.CrossEntropyRowSumExp(acts.row_sum.data(), acts.logits.data(), acts.row_max.data(), n,
                                                  z.vocab_local, z.valid_cols));
  KACHI_RETURN_IF_ERROR(TpAllReduce(acts.row_sum.data(), n, ReduceOp::kSum));
  KACHI_RETURN_IF_ERROR(ops.CrossEntropyTargetLogit(acts.target_logit.data(), acts.logits.data(), acts.targets.data(),
                                                    n, z.vocab_local, z.valid_cols, z.vocab_start));
  KACHI_RETURN_IF_ERROR(TpAllReduce(acts.target_logit.data(), n, ReduceOp::kSum));
  return ops.CrossEntropyLoss(acts.losses.data(), acts.row_max.data(), acts.row_sum.data(), acts.target_logit.data(),
                              n);
}

template <typename T>
absl::Status GptModel::BlockInputLayerNorm(Activations<T>& acts, const T* params, int64_t layer) {
  const BlockTensors& t = layout_.block(layer);
  BlockActivations<T>& a = acts.Block(layer);
  const int64_t n = acts.batch * acts.seq_len;
  return ops_->LayerNormForward(a.ln_1.data(), a.ln_1_mean.data(), a.ln_1_rstd.data(), acts.BlockInput(layer),
                                params + layout_.tensors()[t.ln_1_weight].offset,
                                params + layout_.tensors()[t.ln_1_bias].offset, n, shape().width);
}

template <typename T>
absl::Status GptModel::ForwardBlock(Activations<T>& acts, const T* params, int64_t layer, bool recomputing) {
  const GptShape& s = shape();
  const int64_t batch = acts.batch, seq_len = acts.seq_len, n = batch * seq_len;
  const LocalSizes z = Local();
  const bool adds_bias = layout_.tp_rank() == 0;  // replicated row-parallel biases are added once, before the sum
  auto param = [&](int t) { return params + layout_.tensors()[t].offset; };
  ModelOps& ops = *ops_;
  const BlockTensors& t = layout_.block(layer);
  BlockActivations<T>& a = acts.Block(layer);
  const T* x = acts.BlockInput(layer);
  T* partial = acts.block_out_scratch.data();
  // a.ln_1 = LayerNorm(x) is already there.
  KACHI_RETURN_IF_ERROR(ops.MatmulForward(a.qkv.data(), a.ln_1.data(), param(t.c_attn_weight), param(t.c_attn_bias), n,
                                          z.c, 3 * z.c_local));
  KACHI_RETURN_IF_ERROR(ops.AttentionForward(a.atty.data(), a.att_stats.data(), a.qkv.data(), batch, seq_len,
                                             z.heads_local, z.head_size));
  KACHI_RETURN_IF_ERROR(ops.MatmulForward(partial, a.atty.data(), param(t.attn_proj_weight),
                                          adds_bias ? param(t.attn_proj_bias) : nullptr, n, z.c_local, z.c));
  KACHI_RETURN_IF_ERROR(TpAllReduce(partial, n * z.c, ReduceOp::kSum));
  KACHI_RETURN_IF_ERROR(ops.ResidualLayerNormForward(a.residual_2.data(), a.ln_2.data(), a.ln_2_mean.data(),
                                                     a.ln_2_rstd.data(), x, partial, param(t.ln_2_weight),
                                                     param(t.ln_2_bias), n, z.c));
  KACHI_RETURN_IF_ERROR(ops.MatmulGeluForward(a.fc_gelu.data(), a.fc.data(), a.ln_2.data(), param(t.c_fc_weight),
                                              param(t.c_fc_bias), n, z.c, z.ff_local));
  // A recomputation stops here: the backward needs nothing past the GELU, and the block output is kept.
  if (recomputing) return absl::OkStatus();
  KACHI_RETURN_IF_ERROR(ops.MatmulForward(partial, a.fc_gelu.data(), param(t.mlp_proj_weight),
                                          adds_bias ? param(t.mlp_proj_bias) : nullptr, n, z.ff_local, z.c));
  KACHI_RETURN_IF_ERROR(TpAllReduce(partial, n * z.c, ReduceOp::kSum));
  // The residual add, fused with the next LayerNorm (the next block's first, or the final one). With recompute the
  // next block's buffers are this block's: its ln_1 is no longer needed.
  if (layer + 1 == s.layers) {
    return ops.ResidualLayerNormForward(acts.BlockOutput(layer), acts.ln_f.data(), acts.ln_f_mean.data(),
                                        acts.ln_f_rstd.data(), a.residual_2.data(), partial,
                                        param(layout_.ln_f_weight()), param(layout_.ln_f_bias()), n, z.c);
  }
  const BlockTensors& next = layout_.block(layer + 1);
  BlockActivations<T>& next_acts = acts.Block(layer + 1);
  return ops.ResidualLayerNormForward(acts.BlockOutput(layer), next_acts.ln_1.data(), next_acts.ln_1_mean.data(),
                                      next_acts.ln_1_rstd.data(), a.residual_2.data(), partial, param(next.ln_1_weight),
                                      param(next.ln_1_bias), n, z.c);
}

absl::Status GptModel::Backward(float grad_scale) {
  if (mixed_precision()) return BackwardT(acts_bf16_, params_bf16_.data(), grads_bf16_.data(), grad_scale);
  return BackwardT(acts_, params_.data(), grads_.data(), grad_scale);
}

template <typename T>
absl::Status GptModel::BackwardT(Activations<T>& acts, const T* params, T* grads, float grad_scale) {
  const GptShape& s = shape();
  const int64_t batch = acts.batch, seq_len = acts.seq_len, n = batch * seq_len;
  const LocalSizes z = Local();
  auto param = [&](int t) { return params + layout_.tensors()[t].offset; };
  auto grad = [&](int t) { return grads + layout_.tensors()[t].offset; };
  ModelOps& ops = *ops_;
  auto zero = [&](OpsBuffer<T>& buffer) { return ops.Fill(buffer.data(), 0.0f, buffer.size()); };

  KACHI_RETURN_IF_ERROR(ops.Fill(acts.d_loss.data(), grad_scale / static_cast<float>(n), n));
  // In place: the logits become their gradient (the full probabilities are never stored).
  KACHI_RETURN_IF_ERROR(ops.CrossEntropyBackward(acts.logits.data(), acts.logits.data(), acts.row_max.data(),
                                                 acts.row_sum.data(), acts.targets.data(), acts.d_loss.data(), n,
                                                 z.vocab_local, z.valid_cols, z.vocab_start));
  KACHI_RETURN_IF_ERROR(zero(acts.d_ln));
  KACHI_RETURN_IF_ERROR(ops.MatmulBackward(acts.d_ln.data(), grad(layout_.wte()), nullptr, acts.logits.data(),
                                           acts.ln_f.data(), param(layout_.wte()), n, z.c, z.vocab_local));
  KACHI_RETURN_IF_ERROR(TpAllReduce(acts.d_ln.data(), n * z.c, ReduceOp::kSum));
  const T* last = s.layers > 0 ? acts.BlockOutput(s.layers - 1) : acts.encoded.data();
  KACHI_RETURN_IF_ERROR(zero(acts.d_residual));
  KACHI_RETURN_IF_ERROR(ops.LayerNormBackward(
      acts.d_residual.data(), grad(layout_.ln_f_weight()), grad(layout_.ln_f_bias()), acts.d_ln.data(), last,
      param(layout_.ln_f_weight()), acts.ln_f_mean.data(), acts.ln_f_rstd.data(), n, z.c));
  KACHI_RETURN_IF_ERROR(GradientsFinalFrom(std::min(layout_.ln_f_weight(), layout_.ln_f_bias())));

  for (int64_t l = s.layers - 1; l >= 0; --l) {
    const BlockTensors& t = layout_.block(l);
    if (acts.recompute) {
      KACHI_RETURN_IF_ERROR(BlockInputLayerNorm(acts, params, l));
      KACHI_RETURN_IF_ERROR(ForwardBlock(acts, params, l, /*recomputing=*/true));
    }
    BlockActivations<T>& a = acts.Block(l);
    const T* x = acts.BlockInput(l);
    // d_residual holds dL/d(block output). MLP: row-parallel projection through the GELU (its backward fused into
    // the input-gradient matmul; the fc bias gradient comes with it), then the column-parallel fc.
    KACHI_RETURN_IF_ERROR(ops.MatmulBackwardThroughGelu(acts.d_fc.data(), grad(t.c_fc_bias), grad(t.mlp_proj_weight),
                                                        grad(t.mlp_proj_bias), acts.d_residual.data(), a.fc_gelu.data(),
                                                        param(t.mlp_proj_weight), a.fc.data(), n, z.ff_local, z.c));
    KACHI_RETURN_IF_ERROR(zero(acts.d_ln));
    KACHI_RETURN_IF_ERROR(ops.MatmulBackward(acts.d_ln.data(), grad(t.c_fc_weight), nullptr, acts.d_fc.data(),
                                             a.ln_2.data(), param(t.c_fc_weight), n, z.c, z.ff_local));
    KACHI_RETURN_IF_ERROR(TpAllReduce(acts.d_ln.data(), n * z.c, ReduceOp::kSum));
    KACHI_RETURN_IF_ERROR(ops.LayerNormBackward(acts.d_residual.data(), grad(t.ln_2_weight), grad(t.ln_2_bias),
                                                acts.d_ln.data(), a.residual_2.data(), param(t.ln_2_weight),
                                                a.ln_2_mean.data(), a.ln_2_rstd.data(), n, z.c));
    // d_residual now holds dL/d(residual_2). Attention: row-parallel projection, attention, column-parallel qkv.
    KACHI_RETURN_IF_ERROR(zero(acts.d_atty));
    KACHI_RETURN_IF_ERROR(ops.MatmulBackward(acts.d_atty.data(), grad(t.attn_proj_weight), grad(t.attn_proj_bias),
                                             acts.d_residual.data(), a.atty.data(), param(t.attn_proj_weight), n,
                                             z.c_local, z.c));
    KACHI_RETURN_IF_ERROR(zero(acts.d_qkv));
    KACHI_RETURN_IF_ERROR(ops.AttentionBackward(acts.d_qkv.data(), acts.d_atty.data(), a.qkv.data(), a.atty.data(),
                                                a.att_stats.data(), acts.att_scratch.data(), batch, seq_len,
                                                z.heads_local, z.head_size));
    KACHI_RETURN_IF_ERROR(zero(acts.d_ln));
    KACHI_RETURN_IF_ERROR(ops.MatmulBackward(acts.d_ln.data(), grad(t.c_attn_weight), grad(t.c_attn_bias),
                                             acts.d_qkv.data(), a.ln_1.data(), param(t.c_attn_weight), n, z.c,
                                             3 * z.c_local));
    KACHI_RETURN_IF_ERROR(TpAllReduce(acts.d_ln.data(), n * z.c, ReduceOp::kSum));
    KACHI_RETURN_IF_ERROR(ops.LayerNormBackward(acts.d_residual.data(), grad(t.ln_1_weight), grad(t.ln_1_bias),
                                                acts.d_ln.data(), x, param(t.ln_1_weight), a.ln_1_mean.data(),
                                                a.ln_1_rstd.data(), n, z.c));
    KACHI_RETURN_IF_ERROR(GradientsFinalFrom(FirstTensorOf(t)));
  }
  // d_residual holds dL/d(embeddings).
  KACHI_RETURN_IF_ERROR(
      ops.PositionEmbeddingBackward(grad(layout_.wpe()), acts.d_residual.data(), batch, seq_len, z.c));
  KACHI_RETURN_IF_ERROR(ops.TokenEmbeddingBackward(grad(layout_.wte()), acts.d_residual.data(), acts.inputs.data(), n,
                                                   z.c, z.vocab_start, z.vocab_local));
  return GradientsFinalFrom(0);
}

absl::StatusOr<float> GptModel::ForwardBackward(const int32_t* inputs, const int32_t* targets, int64_t batch,
                                                int64_t seq_len, float grad_scale) {
  if (targets == nullptr) return absl::InvalidArgumentError("ForwardBackward needs targets");
  KACHI_RETURN_IF_ERROR(Forward(inputs, targets, batch, seq_len));
  KACHI_RETURN_IF_ERROR(Backward(grad_scale));
  return MeanLoss();
}

absl::StatusOr<float> GptModel::Loss(const int32_t* inputs, const int32_t* targets, int64_t batch, int64_t seq_len) {
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
    KACHI_RETURN_IF_ERROR(
        ops_->Convert(last_row.data(), acts_bf16_.logits.data() + (length - 1) * vocab_local, vocab_local));
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
