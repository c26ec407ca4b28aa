// ProfilingOps: a ModelOps that forwards every call to another ModelOps and, while enabled, times each kernel op
// (fills and conversions included) by synchronizing the inner ops before and after it, so that each op's time is
// its own (launch included; nothing overlaps while profiling). Times accumulate per op name ("MatmulForward",
// "MatmulForward.bf16", ...). Used by `kachi bench train --bench_profile` to show where a step's time goes; memory
// transfers and checkpoint snapshot calls are forwarded untimed (DownloadConcurrent may run on another thread).
#ifndef KACHI_RUNTIME_MODEL_PROFILING_OPS_H_
#define KACHI_RUNTIME_MODEL_PROFILING_OPS_H_

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "runtime/model/model_ops.h"

namespace kachi {

class ProfilingOps : public ModelOps {
 public:
  // Accumulated time of one op.
  struct OpTime {
    std::string op;
    int64_t calls = 0;
    double seconds = 0;
  };

  // Forwards to `inner`, which must outlive this object. Starts disabled.
  explicit ProfilingOps(ModelOps* inner) : inner_(inner) {}

  // Timing on or off (off: plain forwarding, no synchronization).
  void set_enabled(bool enabled) { enabled_ = enabled; }
  bool enabled() const { return enabled_; }
  // Forgets every accumulated time.
  void Reset() { times_.clear(); }
  // The accumulated times, largest first.
  std::vector<OpTime> Report() const;

  absl::string_view name() const override { return inner_->name(); }
  bool device_memory() const override { return inner_->device_memory(); }
  float* AllocateFloats(int64_t count) override { return inner_->AllocateFloats(count); }
  int32_t* AllocateInts(int64_t count) override { return inner_->AllocateInts(count); }
  void Release(void* data) override { return inner_->Release(data); }
  absl::Status Upload(void* dst, const void* host_src, size_t bytes) override {
    return inner_->Upload(dst, host_src, bytes);
  }
  absl::Status Download(void* host_dst, const void* src, size_t bytes) override {
    return inner_->Download(host_dst, src, bytes);
  }
  absl::Status Fill(float* data, float value, int64_t count) override {
    return Timed("Fill", [&] { return inner_->Fill(data, value, count); });
  }
  absl::Status Scale(float* data, float scale, int64_t count) override {
    return Timed("Scale", [&] { return inner_->Scale(data, scale, count); });
  }
  absl::Status Synchronize() override { return inner_->Synchronize(); }
  absl::StatusOr<void*> RecordEvent() override { return inner_->RecordEvent(); }
  void ReleaseEvent(void* event) override { inner_->ReleaseEvent(event); }
  void* AllocateBytes(size_t bytes) override { return inner_->AllocateBytes(bytes); }
  absl::Status CopyAsync(void* dst, const void* src, size_t bytes) override {
    return inner_->CopyAsync(dst, src, bytes);
  }
  void* AllocateHost(size_t bytes) override { return inner_->AllocateHost(bytes); }
  void ReleaseHost(void* data) override { return inner_->ReleaseHost(data); }
  absl::Status DownloadConcurrent(void* host_dst, const void* src, size_t bytes) override {
    return inner_->DownloadConcurrent(host_dst, src, bytes);
  }
  absl::Status TokenEmbeddingForward(float* out, const int32_t* tokens, const float* table, int64_t count,
                                     int64_t channels, int64_t vocab_start, int64_t vocab_rows) override {
    return Timed("TokenEmbeddingForward", [&] {
      return inner_->TokenEmbeddingForward(out, tokens, table, count, channels, vocab_start, vocab_rows);
    });
  }
  absl::Status TokenEmbeddingBackward(float* dtable, const float* dout, const int32_t* tokens, int64_t count,
                                      int64_t channels, int64_t vocab_start, int64_t vocab_rows) override {
    return Timed("TokenEmbeddingBackward", [&] {
      return inner_->TokenEmbeddingBackward(dtable, dout, tokens, count, channels, vocab_start, vocab_rows);
    });
  }
  absl::Status PositionEmbeddingForward(float* out, const float* wpe, int64_t batch, int64_t seq_len,
                                        int64_t channels) override {
    return Timed("PositionEmbeddingForward",
                 [&] { return inner_->PositionEmbeddingForward(out, wpe, batch, seq_len, channels); });
  }
  absl::Status PositionEmbeddingBackward(float* dwpe, const float* dout, int64_t batch, int64_t seq_len,
                                         int64_t channels) override {
    return Timed("PositionEmbeddingBackward",
                 [&] { return inner_->PositionEmbeddingBackward(dwpe, dout, batch, seq_len, channels); });
  }
  absl::Status LayerNormForward(float* out, float* mean, float* rstd, const float* in, const float* weight,
                                const float* bias, int64_t rows, int64_t channels) override {
    return Timed("LayerNormForward",
                 [&] { return inner_->LayerNormForward(out, mean, rstd, in, weight, bias, rows, channels); });
  }
  absl::Status LayerNormBackward(float* din, float* dweight, float* dbias, const float* dout, const float* in,
                                 const float* weight, const float* mean, const float* rstd, int64_t rows,
                                 int64_t channels) override {
    return Timed("LayerNormBackward", [&] {
      return inner_->LayerNormBackward(din, dweight, dbias, dout, in, weight, mean, rstd, rows, channels);
    });
  }
  absl::Status MatmulForward(float* out, const float* in, const float* weight, const float* bias, int64_t rows,
                             int64_t in_channels, int64_t out_channels) override {
    return Timed("MatmulForward",
                 [&] { return inner_->MatmulForward(out, in, weight, bias, rows, in_channels, out_channels); });
  }
  absl::Status MatmulBackward(float* din, float* dweight, float* dbias, const float* dout, const float* in,
                              const float* weight, int64_t rows, int64_t in_channels, int64_t out_channels) override {
    return Timed("MatmulBackward", [&] {
      return inner_->MatmulBackward(din, dweight, dbias, dout, in, weight, rows, in_channels, out_channels);
    });
  }
  absl::Status GeluForward(float* out, const float* in, int64_t count) override {
    return Timed("GeluForward", [&] { return inner_->GeluForward(out, in, count); });
  }
  absl::Status GeluBackward(float* din, const float* in, const float* dout, int64_t count) override {
    return Timed("GeluBackward", [&] { return inner_->GeluBackward(din, in, dout, count); });
  }
  absl::Status ResidualForward(float* out, const float* a, const float* b, int64_t count) override {
    return Timed("ResidualForward", [&] { return inner_->ResidualForward(out, a, b, count); });
  }
  absl::Status MatmulGeluForward(float* out, float* pre_gelu, const float* in, const float* weight, const float* bias,
                                 int64_t rows, int64_t in_channels, int64_t out_channels) override {
    return Timed("MatmulGeluForward", [&] {
      return inner_->MatmulGeluForward(out, pre_gelu, in, weight, bias, rows, in_channels, out_channels);
    });
  }
  absl::Status MatmulBackwardThroughGelu(float* dpre_gelu, float* dpre_bias, float* dweight, float* dbias,
                                         const float* dout, const float* in, const float* weight, const float* pre_gelu,
                                         int64_t rows, int64_t in_channels, int64_t out_channels) override {
    return Timed("MatmulBackwardThroughGelu", [&] {
      return inner_->MatmulBackwardThroughGelu(dpre_gelu, dpre_bias, dweight, dbias, dout, in, weight, pre_gelu, rows,
                                               in_channels, out_channels);
    });
  }
  absl::Status ResidualLayerNormForward(float* residual_out, float* out, float* mean, float* rstd, const float* a,
                                        const float* b, const float* weight, const float* bias, int64_t rows,
                                        int64_t channels) override {
    return Timed("ResidualLayerNormForward", [&] {
      return inner_->ResidualLayerNormForward(residual_out, out, mean, rstd, a, b, weight, bias, rows, channels);
    });
  }
  int64_t AttentionStatsSize(int64_t batch, int64_t heads, int64_t seq_len) const override {
    return inner_->AttentionStatsSize(batch, heads, seq_len);
  }
  int64_t AttentionScratchSize(int64_t batch, int64_t heads, int64_t seq_len) const override {
    return inner_->AttentionScratchSize(batch, heads, seq_len);
  }
  absl::Status AttentionForward(float* out, float* stats, const float* qkv, int64_t batch, int64_t seq_len,
                                int64_t heads, int64_t head_size) override {
    return Timed("AttentionForward",
                 [&] { return inner_->AttentionForward(out, stats, qkv, batch, seq_len, heads, head_size); });
  }
  absl::Status AttentionBackward(float* dqkv, const float* dout, const float* qkv, const float* out, const float* stats,
                                 float* scratch, int64_t batch, int64_t seq_len, int64_t heads,
                                 int64_t head_size) override {
    return Timed("AttentionBackward", [&] {
      return inner_->AttentionBackward(dqkv, dout, qkv, out, stats, scratch, batch, seq_len, heads, head_size);
    });
  }
  absl::Status CrossEntropyRowMax(float* row_max, const float* logits, int64_t rows, int64_t cols,
                                  int64_t valid_cols) override {
    return Timed("CrossEntropyRowMax",
                 [&] { return inner_->CrossEntropyRowMax(row_max, logits, rows, cols, valid_cols); });
  }
  absl::Status CrossEntropyRowSumExp(float* row_sum, const float* logits, const float* row_max, int64_t rows,
                                     int64_t cols, int64_t valid_cols) override {
    return Timed("CrossEntropyRowSumExp",
                 [&] { return inner_->CrossEntropyRowSumExp(row_sum, logits, row_max, rows, cols, valid_cols); });
  }
  absl::Status CrossEntropyTargetLogit(float* target_logit, const float* logits, const int32_t* targets, int64_t rows,
                                       int64_t cols, int64_t valid_cols, int64_t vocab_start) override {
    return Timed("CrossEntropyTargetLogit", [&] {
      return inner_->CrossEntropyTargetLogit(target_logit, logits, targets, rows, cols, valid_cols, vocab_start);
    });
  }
  absl::Status CrossEntropyLoss(float* loss, const float* row_max, const float* row_sum, const float* target_logit,
                                int64_t rows) override {
    return Timed("CrossEntropyLoss",
                 [&] { return inner_->CrossEntropyLoss(loss, row_max, row_sum, target_logit, rows); });
  }
  absl::Status CrossEntropyBackward(float* dlogits, const float* logits, const float* row_max, const float* row_sum,
                                    const int32_t* targets, const float* dloss, int64_t rows, int64_t cols,
                                    int64_t valid_cols, int64_t vocab_start) override {
    return Timed("CrossEntropyBackward", [&] {
      return inner_->CrossEntropyBackward(dlogits, logits, row_max, row_sum, targets, dloss, rows, cols, valid_cols,
                                          vocab_start);
    });
  }
  absl::Status AdamWStep(float* param, const float* grad, float* m, float* v, int64_t count, double learning_rate,
                         double beta1, double beta2, double eps, double weight_decay, int64_t step) override {
    return Timed("AdamWStep", [&] {
      return inner_->AdamWStep(param, grad, m, v, count, learning_rate, beta1, beta2, eps, weight_decay, step);
    });
  }
  absl::StatusOr<double> SumOfSquares(const float* data, int64_t count) override {
    return Timed("SumOfSquares", [&] { return inner_->SumOfSquares(data, count); });
  }
  absl::Status Fill(Bf16* data, float value, int64_t count) override {
    return Timed("Fill.bf16", [&] { return inner_->Fill(data, value, count); });
  }
  absl::Status Scale(Bf16* data, float scale, int64_t count) override {
    return Timed("Scale.bf16", [&] { return inner_->Scale(data, scale, count); });
  }
  absl::Status Convert(Bf16* dst, const float* src, int64_t count) override {
    return Timed("Convert.bf16", [&] { return inner_->Convert(dst, src, count); });
  }
  absl::Status Convert(float* dst, const Bf16* src, int64_t count) override {
    return Timed("Convert.bf16", [&] { return inner_->Convert(dst, src, count); });
  }
  absl::Status TokenEmbeddingForward(Bf16* out, const int32_t* tokens, const Bf16* table, int64_t count,
                                     int64_t channels, int64_t vocab_start, int64_t vocab_rows) override {
    return Timed("TokenEmbeddingForward.bf16", [&] {
      return inner_->TokenEmbeddingForward(out, tokens, table, count, channels, vocab_start, vocab_rows);
    });
  }
  absl::Status TokenEmbeddingBackward(Bf16* dtable, const Bf16* dout, const int32_t* tokens, int64_t count,
                                      int64_t channels, int64_t vocab_start, int64_t vocab_rows) override {
    return Timed("TokenEmbeddingBackward.bf16", [&] {
      return inner_->TokenEmbeddingBackward(dtable, dout, tokens, count, channels, vocab_start, vocab_rows);
    });
  }
  absl::Status PositionEmbeddingForward(Bf16* out, const Bf16* wpe, int64_t batch, int64_t seq_len,
                                        int64_t channels) override {
    return Timed("PositionEmbeddingForward.bf16",
                 [&] { return inner_->PositionEmbeddingForward(out, wpe, batch, seq_len, channels); });
  }
  absl::Status PositionEmbeddingBackward(Bf16* dwpe, const Bf16* dout, int64_t batch, int64_t seq_len,
                                         int64_t channels) override {
    return Timed("PositionEmbeddingBackward.bf16",
                 [&] { return inner_->PositionEmbeddingBackward(dwpe, dout, batch, seq_len, channels); });
  }
  absl::Status LayerNormForward(Bf16* out, float* mean, float* rstd, const Bf16* in, const Bf16* weight,
                                const Bf16* bias, int64_t rows, int64_t channels) override {
    return Timed("LayerNormForward.bf16",
                 [&] { return inner_->LayerNormForward(out, mean, rstd, in, weight, bias, rows, channels); });
  }
  absl::Status LayerNormBackward(Bf16* din, Bf16* dweight, Bf16* dbias, const Bf16* dout, const Bf16* in,
                                 const Bf16* weight, const float* mean, const float* rstd, int64_t rows,
                                 int64_t channels) override {
    return Timed("LayerNormBackward.bf16", [&] {
      return inner_->LayerNormBackward(din, dweight, dbias, dout, in, weight, mean, rstd, rows, channels);
    });
  }
  absl::Status MatmulForward(Bf16* out, const Bf16* in, const Bf16* weight, const Bf16* bias, int64_t rows,
                             int64_t in_channels, int64_t out_channels) override {
    return Timed("MatmulForward.bf16",
                 [&] { return inner_->MatmulForward(out, in, weight, bias, rows, in_channels, out_channels); });
  }
  absl::Status MatmulBackward(Bf16* din, Bf16* dweight, Bf16* dbias, const Bf16* dout, const Bf16* in,
                              const Bf16* weight, int64_t rows, int64_t in_channels, int64_t out_channels) override {
    return Timed("MatmulBackward.bf16", [&] {
      return inner_->MatmulBackward(din, dweight, dbias, dout, in, weight, rows, in_channels, out_channels);
    });
  }
  absl::Status GeluForward(Bf16* out, const Bf16* in, int64_t count) override {
    return Timed("GeluForward.bf16", [&] { return inner_->GeluForward(out, in, count); });
  }
  absl::Status GeluBackward(Bf16* din, const Bf16* in, const Bf16* dout, int64_t count) override {
    return Timed("GeluBackward.bf16", [&] { return inner_->GeluBackward(din, in, dout, count); });
  }
  absl::Status ResidualForward(Bf16* out, const Bf16* a, const Bf16* b, int64_t count) override {
    return Timed("ResidualForward.bf16", [&] { return inner_->ResidualForward(out, a, b, count); });
  }
  absl::Status MatmulGeluForward(Bf16* out, Bf16* pre_gelu, const Bf16* in, const Bf16* weight, const Bf16* bias,
                                 int64_t rows, int64_t in_channels, int64_t out_channels) override {
    return Timed("MatmulGeluForward.bf16", [&] {
      return inner_->MatmulGeluForward(out, pre_gelu, in, weight, bias, rows, in_channels, out_channels);
    });
  }
  absl::Status MatmulBackwardThroughGelu(Bf16* dpre_gelu, Bf16* dpre_bias, Bf16* dweight, Bf16* dbias, const Bf16* dout,
                                         const Bf16* in, const Bf16* weight, const Bf16* pre_gelu, int64_t rows,
                                         int64_t in_channels, int64_t out_channels) override {
    return Timed("MatmulBackwardThroughGelu.bf16", [&] {
      return inner_->MatmulBackwardThroughGelu(dpre_gelu, dpre_bias, dweight, dbias, dout, in, weight, pre_gelu, rows,
                                               in_channels, out_channels);
    });
  }
  absl::Status ResidualLayerNormForward(Bf16* residual_out, Bf16* out, float* mean, float* rstd, const Bf16* a,
                                        const Bf16* b, const Bf16* weight, const Bf16* bias, int64_t rows,
                                        int64_t channels) override {
    return Timed("ResidualLayerNormForward.bf16", [&] {
      return inner_->ResidualLayerNormForward(residual_out, out, mean, rstd, a, b, weight, bias, rows, channels);
    });
  }
  absl::Status AttentionForward(Bf16* out, float* stats, const Bf16* qkv, int64_t batch, int64_t seq_len, int64_t heads,
                                int64_t head_size) override {
    return Timed("AttentionForward.bf16",
                 [&] { return inner_->AttentionForward(out, stats, qkv, batch, seq_len, heads, head_size); });
  }
  absl::Status AttentionBackward(Bf16* dqkv, const Bf16* dout, const Bf16* qkv, const Bf16* out, const float* stats,
                                 float* scratch, int64_t batch, int64_t seq_len, int64_t heads,
                                 int64_t head_size) override {
    return Timed("AttentionBackward.bf16", [&] {
      return inner_->AttentionBackward(dqkv, dout, qkv, out, stats, scratch, batch, seq_len, heads, head_size);
    });
  }
  absl::Status CrossEntropyRowMax(float* row_max, const Bf16* logits, int64_t rows, int64_t cols,
                                  int64_t valid_cols) override {
    return Timed("CrossEntropyRowMax.bf16",
                 [&] { return inner_->CrossEntropyRowMax(row_max, logits, rows, cols, valid_cols); });
  }
  absl::Status CrossEntropyRowSumExp(float* row_sum, const Bf16* logits, const float* row_max, int64_t rows,
                                     int64_t cols, int64_t valid_cols) override {
    return Timed("CrossEntropyRowSumExp.bf16",
                 [&] { return inner_->CrossEntropyRowSumExp(row_sum, logits, row_max, rows, cols, valid_cols); });
  }
  absl::Status CrossEntropyTargetLogit(float* target_logit, const Bf16* logits, const int32_t* targets, int64_t rows,
                                       int64_t cols, int64_t valid_cols, int64_t vocab_start) override {
    return Timed("CrossEntropyTargetLogit.bf16", [&] {
      return inner_->CrossEntropyTargetLogit(target_logit, logits, targets, rows, cols, valid_cols, vocab_start);
    });
  }
  absl::Status CrossEntropyBackward(Bf16* dlogits, const Bf16* logits, const float* row_max, const float* row_sum,
                                    const int32_t* targets, const float* dloss, int64_t rows, int64_t cols,
                                    int64_t valid_cols, int64_t vocab_start) override {
    return Timed("CrossEntropyBackward.bf16", [&] {
      return inner_->CrossEntropyBackward(dlogits, logits, row_max, row_sum, targets, dloss, rows, cols, valid_cols,
                                          vocab_start);
    });
  }
  absl::Status AdamWStep(float* master, Bf16* param, const Bf16* grad, float* m, float* v, int64_t count,
                         double learning_rate, double beta1, double beta2, double eps, double weight_decay,
                         int64_t step, float grad_scale) override {
    return Timed("AdamWStep.bf16", [&] {
      return inner_->AdamWStep(master, param, grad, m, v, count, learning_rate, beta1, beta2, eps, weight_decay, step,
                               grad_scale);
    });
  }
  absl::StatusOr<double> SumOfSquares(const Bf16* data, int64_t count) override {
    return Timed("SumOfSquares.bf16", [&] { return inner_->SumOfSquares(data, count); });
  }

 private:
  // Runs `call` between two synchronizations of the inner ops and adds its wall time to `op` (when enabled).
  template <typename Call>
  auto Timed(const char* op, Call&& call) -> decltype(call()) {
    if (!enabled_) return call();
    if (absl::Status st = inner_->Synchronize(); !st.ok()) return st;
    const auto start = std::chrono::steady_clock::now();
    auto result = call();
    if (absl::Status st = inner_->Synchronize(); !st.ok()) return st;
    OpTime& time = times_[op];
    time.op = op;
    ++time.calls;
    time.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return result;
  }

  ModelOps* inner_;
  bool enabled_ = false;
  std::map<std::string, OpTime> times_;
};

}  // namespace kachi

#endif  // KACHI_RUNTIME_MODEL_PROFILING_OPS_H_
