// The CPU ModelOps: host memory and the reference kernels of kernels/ (see model_ops.h).
#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "kernels/adamw.h"
#include "kernels/attention.h"
#include "kernels/cross_entropy.h"
#include "kernels/gelu.h"
#include "kernels/layernorm.h"
#include "kernels/matmul.h"
#include "kernels/matmul_gelu.h"
#include "kernels/position_embedding.h"
#include "kernels/residual.h"
#include "kernels/sum_of_squares.h"
#include "kernels/token_embedding.h"
#include "runtime/model/model_ops.h"

namespace kachi {
namespace {

class CpuOps : public ModelOps {
 public:
  absl::string_view name() const override { return "cpu"; }
  bool device_memory() const override { return false; }

  float* AllocateFloats(int64_t count) override {
    return static_cast<float*>(std::calloc(static_cast<size_t>(count), sizeof(float)));
  }
  int32_t* AllocateInts(int64_t count) override {
    return static_cast<int32_t*>(std::calloc(static_cast<size_t>(count), sizeof(int32_t)));
  }
  void Release(void* data) override { std::free(data); }
  absl::Status Upload(void* dst, const void* src, size_t bytes) override {
    if (bytes > 0) std::memmove(dst, src, bytes);
    return absl::OkStatus();
  }
  absl::Status Download(void* dst, const void* src, size_t bytes) override { return Upload(dst, src, bytes); }
  absl::Status Fill(float* data, float value, int64_t count) override {
    std::fill(data, data + count, value);
    return absl::OkStatus();
  }
  absl::Status Scale(float* data, float scale, int64_t count) override {
    for (int64_t i = 0; i < count; ++i) data[i] *= scale;
    return absl::OkStatus();
  }
  absl::Status Synchronize() override { return absl::OkStatus(); }
  // Every op is complete on return: nothing to mark.
  absl::StatusOr<void*> RecordEvent() override { return nullptr; }
  void ReleaseEvent(void*) override {}

  void* AllocateBytes(size_t bytes) override { return bytes == 0 ? nullptr : std::calloc(bytes, 1); }
  absl::Status CopyAsync(void* dst, const void* src, size_t bytes) override { return Upload(dst, src, bytes); }
  void* AllocateHost(size_t bytes) override { return AllocateBytes(bytes); }
  void ReleaseHost(void* data) override { std::free(data); }
  absl::Status DownloadConcurrent(void* dst, const void* src, size_t bytes) override {
    return Upload(dst, src, bytes);
  }

  absl::Status TokenEmbeddingForward(float* out, const int32_t* tokens, const float* table, int64_t count,
                                     int64_t channels, int64_t vocab_start, int64_t vocab_rows) override {
    cpu::TokenEmbeddingForward(out, tokens, table, count, channels, vocab_start, vocab_rows);
    return absl::OkStatus();
  }
  absl::Status TokenEmbeddingBackward(float* dtable, const float* dout, const int32_t* tokens, int64_t count,
                                      int64_t channels, int64_t vocab_start, int64_t vocab_rows) override {
    cpu::TokenEmbeddingBackward(dtable, dout, tokens, count, channels, vocab_start, vocab_rows);
    return absl::OkStatus();
  }
  absl::Status PositionEmbeddingForward(float* out, const float* wpe, int64_t batch, int64_t seq_len,
                                        int64_t channels) override {
    cpu::PositionEmbeddingForward(out, wpe, batch, seq_len, channels);
    return absl::OkStatus();
  }
  absl::Status PositionEmbeddingBackward(float* dwpe, const float* dout, int64_t batch, int64_t seq_len,
                                         int64_t channels) override {
    cpu::PositionEmbeddingBackward(dwpe, dout, batch, seq_len, channels);
    return absl::OkStatus();
  }
  absl::Status LayerNormForward(float* out, float* mean, float* rstd, const float* in, const float* weight,
                                const float* bias, int64_t rows, int64_t channels) override {
    cpu::LayerNormForward(out, mean, rstd, in, weight, bias, rows, channels);
    return absl::OkStatus();
  }
  absl::Status LayerNormBackward(float* din, float* dweight, float* dbias, const float* dout, const float* in,
                                 const float* weight, const float* mean, const float* rstd, int64_t rows,
                                 int64_t channels) override {
    cpu::LayerNormBackward(din, dweight, dbias, dout, in, weight, mean, rstd, rows, channels);
    return absl::OkStatus();
  }
  absl::Status MatmulForward(float* out, const float* in, const float* weight, const float* bias, int64_t rows,
                             int64_t in_channels, int64_t out_channels) override {
    cpu::MatmulForward(out, in, weight, bias, rows, in_channels, out_channels);
    return absl::OkStatus();
  }
  absl::Status MatmulBackward(float* din, float* dweight, float* dbias, const float* dout, const float* in,
                              const float* weight, int64_t rows, int64_t in_channels,
                              int64_t out_channels) override {
    cpu::MatmulBackward(din, dweight, dbias, dout, in, weight, rows, in_channels, out_channels);
    return absl::OkStatus();
  }
  absl::Status GeluForward(float* out, const float* in, int64_t count) override {
    cpu::GeluForward(out, in, count);
    return absl::OkStatus();
  }
  absl::Status GeluBackward(float* din, const float* in, const float* dout, int64_t count) override {
    cpu::GeluBackward(din, in, dout, count);
    return absl::OkStatus();
  }
  absl::Status ResidualForward(float* out, const float* a, const float* b, int64_t count) override {
    cpu::ResidualForward(out, a, b, count);
    return absl::OkStatus();
  }
  absl::Status MatmulGeluForward(float* out, float* pre_gelu, const float* in, const float* weight,
                                 const float* bias, int64_t rows, int64_t in_channels, int64_t out_channels) override {
    cpu::MatmulGeluForward(out, pre_gelu, in, weight, bias, rows, in_channels, out_channels);
    return absl::OkStatus();
  }
  absl::Status MatmulBackwardThroughGelu(float* dpre_gelu, float* dpre_bias, float* dweight, float* dbias,
                                         const float* dout, const float* in, const float* weight,
                                         const float* pre_gelu, int64_t rows, int64_t in_channels,
                                         int64_t out_channels) override {
    cpu::MatmulBackwardThroughGelu(dpre_gelu, dpre_bias, dweight, dbias, dout, in, weight, pre_gelu, rows,
                                   in_channels, out_channels);
    return absl::OkStatus();
  }

  int64_t AttentionStatsSize(int64_t batch, int64_t heads, int64_t seq_len) const override {
    return batch * heads * seq_len * seq_len;  // the softmax probabilities
  }
  int64_t AttentionScratchSize(int64_t, int64_t, int64_t) const override { return 0; }
  absl::Status AttentionForward(float* out, float* stats, const float* qkv, int64_t batch, int64_t seq_len,
                                int64_t heads, int64_t head_size) override {
    cpu::AttentionForward(out, stats, qkv, batch, seq_len, heads, head_size);
    return absl::OkStatus();
  }
  absl::Status AttentionBackward(float* dqkv, const float* dout, const float* qkv, const float* /*out*/,
                                 const float* stats, float* /*scratch*/, int64_t batch, int64_t seq_len,
                                 int64_t heads, int64_t head_size) override {
    cpu::AttentionBackward(dqkv, dout, qkv, stats, batch, seq_len, heads, head_size);
    return absl::OkStatus();
  }

  absl::Status CrossEntropyRowMax(float* row_max, const float* logits, int64_t rows, int64_t cols,
                                  int64_t valid_cols) override {
    cpu::CrossEntropyRowMax(row_max, logits, rows, cols, valid_cols);
    return absl::OkStatus();
  }
  absl::Status CrossEntropyRowSumExp(float* row_sum, const float* logits, const float* row_max, int64_t rows,
                                     int64_t cols, int64_t valid_cols) override {
    cpu::CrossEntropyRowSumExp(row_sum, logits, row_max, rows, cols, valid_cols);
    return absl::OkStatus();
  }
  absl::Status CrossEntropyTargetLogit(float* target_logit, const float* logits, const int32_t* targets,
                                       int64_t rows, int64_t cols, int64_t valid_cols,
                                       int64_t vocab_start) override {
    cpu::CrossEntropyTargetLogit(target_logit, logits, targets, rows, cols, valid_cols, vocab_start);
    return absl::OkStatus();
  }
  absl::Status CrossEntropyLoss(float* loss, const float* row_max, const float* row_sum, const float* target_logit,
                                int64_t rows) override {
    cpu::CrossEntropyLoss(loss, row_max, row_sum, target_logit, rows);
    return absl::OkStatus();
  }
  absl::Status CrossEntropyBackward(float* dlogits, const float* logits, const float* row_max, const float* row_sum,
                                    const int32_t* targets, const float* dloss, int64_t rows, int64_t cols,
                                    int64_t valid_cols, int64_t vocab_start) override {
    cpu::CrossEntropyBackward(dlogits, logits, row_max, row_sum, targets, dloss, rows, cols, valid_cols,
                              vocab_start);
    return absl::OkStatus();
  }

  absl::Status AdamWStep(float* param, const float* grad, float* m, float* v, int64_t count, double learning_rate,
                         double beta1, double beta2, double eps, double weight_decay, int64_t step) override {
    cpu::AdamWStep(param, grad, m, v, count, learning_rate, beta1, beta2, eps, weight_decay, step);
    return absl::OkStatus();
  }
  absl::StatusOr<double> SumOfSquares(const float* data, int64_t count) override {
    return cpu::SumOfSquares(data, count);
  }
};

}  // namespace

ModelOps& CpuModelOps() {
  static CpuOps* ops = new CpuOps();
  return *ops;
}

}  // namespace kachi
