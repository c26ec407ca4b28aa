// The bf16 overloads of ModelOps for host memory (see model_ops.h): each one widens its bf16 inputs (and the prior
// contents of its outputs, since many ops accumulate) to fp32, runs the fp32 op, and rounds its outputs back to
// bf16 — what a GPU kernel that loads bf16, computes in fp32 and stores bf16 does. Device ops override them all.
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "kernels/base/status_macros.h"
#include "kernels/adamw.h"
#include "runtime/model/model_ops.h"

namespace kachi {
namespace {

// An fp32 copy of `count` bf16 values (empty for a null pointer), and the way back.
std::vector<float> Widen(const Bf16* data, int64_t count) {
  std::vector<float> out;
  if (data == nullptr) return out;
  out.resize(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) out[i] = ToFloat(data[i]);
  return out;
}
void Narrow(const std::vector<float>& values, Bf16* out) {
  if (out == nullptr) return;
  for (size_t i = 0; i < values.size(); ++i) out[i] = ToBf16(values[i]);
}
float* Ptr(std::vector<float>& v) { return v.empty() ? nullptr : v.data(); }

absl::Status NeedsHost(const ModelOps& ops, const char* op) {
  if (!ops.device_memory()) return absl::OkStatus();
  return absl::UnimplementedError(absl::StrCat("the ", ops.name(), " ops have no bf16 ", op));
}

}  // namespace

absl::Status ModelOps::Fill(Bf16* data, float value, int64_t count) {
  KACHI_RETURN_IF_ERROR(NeedsHost(*this, "Fill"));
  const Bf16 v = ToBf16(value);
  for (int64_t i = 0; i < count; ++i) data[i] = v;
  return absl::OkStatus();
}

absl::Status ModelOps::Scale(Bf16* data, float scale, int64_t count) {
  KACHI_RETURN_IF_ERROR(NeedsHost(*this, "Scale"));
  for (int64_t i = 0; i < count; ++i) data[i] = ToBf16(ToFloat(data[i]) * scale);
  return absl::OkStatus();
}

absl::Status ModelOps::Convert(Bf16* dst, const float* src, int64_t count) {
  KACHI_RETURN_IF_ERROR(NeedsHost(*this, "Convert"));
  for (int64_t i = 0; i < count; ++i) dst[i] = ToBf16(src[i]);
  return absl::OkStatus();
}

absl::Status ModelOps::Convert(float* dst, const Bf16* src, int64_t count) {
  KACHI_RETURN_IF_ERROR(NeedsHost(*this, "Convert"));
  for (int64_t i = 0; i < count; ++i) dst[i] = ToFloat(src[i]);
  return absl::OkStatus();
}

absl::Status ModelOps::TokenEmbeddingForward(Bf16* out, const int32_t* tokens, const Bf16* table, int64_t count,
                                             int64_t channels, int64_t vocab_start, int64_t vocab_rows) {
  KACHI_RETURN_IF_ERROR(NeedsHost(*this, "TokenEmbeddingForward"));
  std::vector<float> o = Widen(out, count * channels), t = Widen(table, vocab_rows * channels);
  KACHI_RETURN_IF_ERROR(TokenEmbeddingForward(Ptr(o), tokens, Ptr(t), count, channels, vocab_start, vocab_rows));
  Narrow(o, out);
  return absl::OkStatus();
}

absl::Status ModelOps::TokenEmbeddingBackward(Bf16* dtable, const Bf16* dout, const int32_t* tokens, int64_t count,
                                              int64_t channels, int64_t vocab_start, int64_t vocab_rows) {
  KACHI_RETURN_IF_ERROR(NeedsHost(*this, "TokenEmbeddingBackward"));
  std::vector<float> dt = Widen(dtable, vocab_rows * channels), d = Widen(dout, count * channels);
  KACHI_RETURN_IF_ERROR(TokenEmbeddingBackward(Ptr(dt), Ptr(d), tokens, count, channels, vocab_start, vocab_rows));
  Narrow(dt, dtable);
  return absl::OkStatus();
}

absl::Status ModelOps::PositionEmbeddingForward(Bf16* out, const Bf16* wpe, int64_t batch, int64_t seq_len,
                                                int64_t channels) {
  KACHI_RETURN_IF_ERROR(NeedsHost(*this, "PositionEmbeddingForward"));
  std::vector<float> o = Widen(out, batch * seq_len * channels), w = Widen(wpe, seq_len * channels);
  KACHI_RETURN_IF_ERROR(PositionEmbeddingForward(Ptr(o), Ptr(w), batch, seq_len, channels));
  Narrow(o, out);
  return absl::OkStatus();
}

absl::Status ModelOps::PositionEmbeddingBackward(Bf16* dwpe, const Bf16* dout, int64_t batch, int64_t seq_len,
                                                 int64_t channels) {
  KACHI_RETURN_IF_ERROR(NeedsHost(*this, "PositionEmbeddingBackward"));
  std::vector<float> dw = Widen(dwpe, seq_len * channels), d = Widen(dout, batch * seq_len * channels);
  KACHI_RETURN_IF_ERROR(PositionEmbeddingBackward(Ptr(dw), Ptr(d), batch, seq_len, channels));
  Narrow(dw, dwpe);
  return absl::OkStatus();
}

absl::Status ModelOps::LayerNormForward(Bf16* out, float* mean, float* rstd, const Bf16* in, const Bf16* weight,
                                        const Bf16* bias, int64_t rows, int64_t channels) {
  KACHI_RETURN_IF_ERROR(NeedsHost(*this, "LayerNormForward"));
  std::vector<float> o = Widen(out, rows * channels), x = Widen(in, rows * channels), w = Widen(weight, channels),
                     b = Widen(bias, channels);
  KACHI_RETURN_IF_ERROR(LayerNormForward(Ptr(o), mean, rstd, Ptr(x), Ptr(w), Ptr(b), rows, channels));
  Narrow(o, out);
  return absl::OkStatus();
}

absl::Status ModelOps::LayerNormBackward(Bf16* din, Bf16* dweight, Bf16* dbias, const Bf16* dout, const Bf16* in,
                                         const Bf16* weight, const float* mean, const float* rstd, int64_t rows,
                                         int64_t channels) {
  KACHI_RETURN_IF_ERROR(NeedsHost(*this, "LayerNormBackward"));
  const int64_t n = rows * channels;
  std::vector<float> dx = Widen(din, n), dw = Widen(dweight, channels), db = Widen(dbias, channels),
                     d = Widen(dout, n), x = Widen(in, n), w = Widen(weight, channels);
  KACHI_RETURN_IF_ERROR(
      LayerNormBackward(Ptr(dx), Ptr(dw), Ptr(db), Ptr(d), Ptr(x), Ptr(w), mean, rstd, rows, channels));
  Narrow(dx, din);
  Narrow(dw, dweight);
  Narrow(db, dbias);
  return absl::OkStatus();
}

absl::Status ModelOps::MatmulForward(Bf16* out, const Bf16* in, const Bf16* weight, const Bf16* bias, int64_t rows,
                                     int64_t in_channels, int64_t out_channels) {
  KACHI_RETURN_IF_ERROR(NeedsHost(*this, "MatmulForward"));
  std::vector<float> o = Widen(out, rows * out_channels), x = Widen(in, rows * in_channels),
                     w = Widen(weight, out_channels * in_channels), b = Widen(bias, out_channels);
  KACHI_RETURN_IF_ERROR(MatmulForward(Ptr(o), Ptr(x), Ptr(w), Ptr(b), rows, in_channels, out_channels));
  Narrow(o, out);
  return absl::OkStatus();
}

absl::Status ModelOps::MatmulBackward(Bf16* din, Bf16* dweight, Bf16* dbias, const Bf16* dout, const Bf16* in,
                                      const Bf16* weight, int64_t rows, int64_t in_channels, int64_t out_channels) {
  KACHI_RETURN_IF_ERROR(NeedsHost(*this, "MatmulBackward"));
  std::vector<float> dx = Widen(din, rows * in_channels), dw = Widen(dweight, out_channels * in_channels),
                     db = Widen(dbias, out_channels), d = Widen(dout, rows * out_channels),
                     x = Widen(in, rows * in_channels), w = Widen(weight, out_channels * in_channels);
  KACHI_RETURN_IF_ERROR(
      MatmulBackward(Ptr(dx), Ptr(dw), Ptr(db), Ptr(d), Ptr(x), Ptr(w), rows, in_channels, out_channels));
  Narrow(dx, din);
  Narrow(dw, dweight);
  Narrow(db, dbias);
  return absl::OkStatus();
}

absl::Status ModelOps::GeluForward(Bf16* out, const Bf16* in, int64_t count) {
  KACHI_RETURN_IF_ERROR(NeedsHost(*this, "GeluForward"));
  std::vector<float> o = Widen(out, count), x = Widen(in, count);
  KACHI_RETURN_IF_ERROR(GeluForward(Ptr(o), Ptr(x), count));
  Narrow(o, out);
  return absl::OkStatus();
}

absl::Status ModelOps::GeluBackward(Bf16* din, const Bf16* in, const Bf16* dout, int64_t count) {
  KACHI_RETURN_IF_ERROR(NeedsHost(*this, "GeluBackward"));
  std::vector<float> dx = Widen(din, count), x = Widen(in, count), d = Widen(dout, count);
  KACHI_RETURN_IF_ERROR(GeluBackward(Ptr(dx), Ptr(x), Ptr(d), count));
  Narrow(dx, din);
  return absl::OkStatus();
}

absl::Status ModelOps::ResidualForward(Bf16* out, const Bf16* a, const Bf16* b, int64_t count) {
  KACHI_RETURN_IF_ERROR(NeedsHost(*this, "ResidualForward"));
  std::vector<float> o = Widen(out, count), x = Widen(a, count), y = Widen(b, count);
  KACHI_RETURN_IF_ERROR(ResidualForward(Ptr(o), Ptr(x), Ptr(y), count));
  Narrow(o, out);
  return absl::OkStatus();
}

absl::Status ModelOps::MatmulGeluForward(Bf16* out, Bf16* pre_gelu, const Bf16* in, const Bf16* weight,
                                         const Bf16* bias, int64_t rows, int64_t in_channels, int64_t out_channels) {
  KACHI_RETURN_IF_ERROR(NeedsHost(*this, "MatmulGeluForward"));
  std::vector<float> o(rows * out_channels), p(rows * out_channels), x = Widen(in, rows * in_channels),
      w = Widen(weight, out_channels * in_channels), b = Widen(bias, out_channels);
  KACHI_RETURN_IF_ERROR(
      MatmulGeluForward(Ptr(o), Ptr(p), Ptr(x), Ptr(w), Ptr(b), rows, in_channels, out_channels));
  Narrow(o, out);
  Narrow(p, pre_gelu);
  return absl::OkStatus();
}

absl::Status ModelOps::MatmulBackwardThroughGelu(Bf16* dpre_gelu, Bf16* dpre_bias, Bf16* dweight, Bf16* dbias,
                                                 const Bf16* dout, const Bf16* in, const Bf16* weight,
                                                 const Bf16* pre_gelu, int64_t rows, int64_t in_channels,
                                                 int64_t out_channels) {
  KACHI_RETURN_IF_ERROR(NeedsHost(*this, "MatmulBackwardThroughGelu"));
  std::vector<float> dp(rows * in_channels), dw = Widen(dweight, out_channels * in_channels),
      db = Widen(dbias, out_channels), d = Widen(dout, rows * out_channels), x = Widen(in, rows * in_channels),
      w = Widen(weight, out_channels * in_channels), p = Widen(pre_gelu, rows * in_channels);
  KACHI_RETURN_IF_ERROR(MatmulBackwardThroughGelu(Ptr(dp), nullptr, Ptr(dw), Ptr(db), Ptr(d), Ptr(x), Ptr(w),
                                                  Ptr(p), rows, in_channels, out_channels));
  Narrow(dp, dpre_gelu);
  Narrow(dw, dweight);
  Narrow(db, dbias);
  if (dpre_bias == nullptr) return absl::OkStatus();
  // The bias gradient sums the stored (rounded) dpre_gelu, as the GPU's column-sum kernel does.
  std::vector<float> sums = Widen(dpre_bias, in_channels);
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < in_channels; ++c) sums[c] += ToFloat(dpre_gelu[r * in_channels + c]);
  }
  Narrow(sums, dpre_bias);
  return absl::OkStatus();
}

absl::Status ModelOps::AttentionForward(Bf16* out, float* stats, const Bf16* qkv, int64_t batch, int64_t seq_len,
                                        int64_t heads, int64_t head_size) {
  KACHI_RETURN_IF_ERROR(NeedsHost(*this, "AttentionForward"));
  const int64_t n = batch * seq_len * heads * head_size;
  std::vector<float> o = Widen(out, n), q = Widen(qkv, 3 * n);
  KACHI_RETURN_IF_ERROR(AttentionForward(Ptr(o), stats, Ptr(q), batch, seq_len, heads, head_size));
  Narrow(o, out);
  return absl::OkStatus();
}

absl::Status ModelOps::AttentionBackward(Bf16* dqkv, const Bf16* dout, const Bf16* qkv, const Bf16* out,
                                         const float* stats, float* scratch, int64_t batch, int64_t seq_len,
                                         int64_t heads, int64_t head_size) {
  KACHI_RETURN_IF_ERROR(NeedsHost(*this, "AttentionBackward"));
  const int64_t n = batch * seq_len * heads * head_size;
  std::vector<float> dq = Widen(dqkv, 3 * n), d = Widen(dout, n), q = Widen(qkv, 3 * n), o = Widen(out, n);
  KACHI_RETURN_IF_ERROR(
      AttentionBackward(Ptr(dq), Ptr(d), Ptr(q), Ptr(o), stats, scratch, batch, seq_len, heads, head_size));
  Narrow(dq, dqkv);
  return absl::OkStatus();
}

absl::Status ModelOps::CrossEntropyRowMax(float* row_max, const Bf16* logits, int64_t rows, int64_t cols,
                                          int64_t valid_cols) {
  KACHI_RETURN_IF_ERROR(NeedsHost(*this, "CrossEntropyRowMax"));
  std::vector<float> l = Widen(logits, rows * cols);
  return CrossEntropyRowMax(row_max, Ptr(l), rows, cols, valid_cols);
}

absl::Status ModelOps::CrossEntropyRowSumExp(float* row_sum, const Bf16* logits, const float* row_max, int64_t rows,
                                             int64_t cols, int64_t valid_cols) {
  KACHI_RETURN_IF_ERROR(NeedsHost(*this, "CrossEntropyRowSumExp"));
  std::vector<float> l = Widen(logits, rows * cols);
  return CrossEntropyRowSumExp(row_sum, Ptr(l), row_max, rows, cols, valid_cols);
}

absl::Status ModelOps::CrossEntropyTargetLogit(float* target_logit, const Bf16* logits, const int32_t* targets,
                                               int64_t rows, int64_t cols, int64_t valid_cols, int64_t vocab_start) {
  KACHI_RETURN_IF_ERROR(NeedsHost(*this, "CrossEntropyTargetLogit"));
  std::vector<float> l = Widen(logits, rows * cols);
  return CrossEntropyTargetLogit(target_logit, Ptr(l), targets, rows, cols, valid_cols, vocab_start);
}

absl::Status ModelOps::CrossEntropyBackward(Bf16* dlogits, const Bf16* logits, const float* row_max,
                                            const float* row_sum, const int32_t* targets, const float* dloss,
                                            int64_t rows, int64_t cols, int64_t valid_cols, int64_t vocab_start) {
  KACHI_RETURN_IF_ERROR(NeedsHost(*this, "CrossEntropyBackward"));
  std::vector<float> dl = Widen(dlogits, rows * cols), l = Widen(logits, rows * cols);
  KACHI_RETURN_IF_ERROR(CrossEntropyBackward(Ptr(dl), Ptr(l), row_max, row_sum, targets, dloss, rows, cols,
                                             valid_cols, vocab_start));
  Narrow(dl, dlogits);
  return absl::OkStatus();
}

absl::Status ModelOps::AdamWStep(float* master, Bf16* param, const Bf16* grad, float* m, float* v, int64_t count,
                                 double learning_rate, double beta1, double beta2, double eps, double weight_decay,
                                 int64_t step, float grad_scale) {
  KACHI_RETURN_IF_ERROR(NeedsHost(*this, "AdamWStep"));
  std::vector<float> g = Widen(grad, count);
  for (float& x : g) x *= grad_scale;
  cpu::AdamWStep(master, g.data(), m, v, count, learning_rate, beta1, beta2, eps, weight_decay, step);
  for (int64_t i = 0; i < count; ++i) param[i] = ToBf16(master[i]);
  return absl::OkStatus();
}

absl::StatusOr<double> ModelOps::SumOfSquares(const Bf16* data, int64_t count) {
  KACHI_RETURN_IF_ERROR(NeedsHost(*this, "SumOfSquares"));
  double sum = 0;
  for (int64_t i = 0; i < count; ++i) {
    const double x = ToFloat(data[i]);
    sum += x * x;
  }
  return sum;
}

}  // namespace kachi
