// ParameterLayout: every tensor of a GPT model as one rank of a tensor-parallel group holds it, laid out
// contiguously in one flat buffer (parameters, gradients and optimizer state share the layout).
//
// Each tensor has a global 2-D view [rows, cols] (1-D tensors are [n, 1]) and the rank holds a set of global row
// ranges times one column range (Megatron tensor parallelism):
//   wte [padded_vocab, C]        rows split (vocab-parallel embedding and tied LM head)
//   attn.c_attn [3C, C] (+bias)  column-parallel: the q, k and v row blocks of this rank's heads (3 row ranges)
//   attn.c_proj [C, C]           row-parallel: input columns of this rank's heads; its bias replicated
//   mlp.c_fc [4C, C] (+bias)     column-parallel: rows split
//   mlp.c_proj [C, 4C]           row-parallel: columns split; its bias replicated
//   wpe, LayerNorms              replicated
// Weights are stored [out, in] (PyTorch nn.Linear); names follow Hugging Face GPT-2 (whose Conv1D stores the
// transpose). The global views and offsets are what checkpoints use to reshard.
#ifndef KACHI_RUNTIME_MODEL_PARAMETER_LAYOUT_H_
#define KACHI_RUNTIME_MODEL_PARAMETER_LAYOUT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/model/gpt_shape.h"

namespace kachi {

// Global rows [start, start + count) of a tensor's 2-D view.
struct RowRange {
  int64_t start = 0;
  int64_t count = 0;
};

// One tensor as this rank holds it.
struct ParameterSpec {
  std::string name;                  // e.g. "h.3.attn.c_attn.weight"
  std::vector<int64_t> global_shape; // the full tensor's shape ([rows, cols] or [n])
  int64_t global_rows = 0;           // 2-D view of global_shape
  int64_t global_cols = 0;
  std::vector<RowRange> rows;        // global row ranges held here, in local order
  int64_t col_start = 0;             // global column range held here
  int64_t local_cols = 0;
  int64_t offset = 0;                // first element in the flat buffer
  int64_t size = 0;                  // elements held here
  bool decay = false;                // AdamW weight decay applies (weights; not biases, LayerNorms)
  bool tp_replicated = false;        // identical on every tensor-parallel rank (counted once in norms)
  float init_std = 0;                // > 0: normal(0, init_std); else constant init_value
  float init_value = 0;

  int64_t local_rows() const;
  // Global row-major index (row * global_cols + col) of local element `local_index`.
  int64_t GlobalIndex(int64_t local_index) const;
};

// Indices into ParameterLayout::tensors() of one transformer block's tensors.
struct BlockTensors {
  int ln_1_weight, ln_1_bias, c_attn_weight, c_attn_bias, attn_proj_weight, attn_proj_bias;
  int ln_2_weight, ln_2_bias, c_fc_weight, c_fc_bias, mlp_proj_weight, mlp_proj_bias;
};

// All tensors of one tensor-parallel rank of a GPT model.
class ParameterLayout {
 public:
  // The layout of rank `tp_rank` of `tp_size` (the shape must pass ValidateShape for tp_size).
  ParameterLayout(const GptShape& shape, int tp_rank, int tp_size);

  const GptShape& shape() const { return shape_; }
  int tp_rank() const { return tp_rank_; }
  int tp_size() const { return tp_size_; }
  const std::vector<ParameterSpec>& tensors() const { return tensors_; }
  // Elements in the flat buffer.
  int64_t total_size() const { return total_size_; }
  // Index of the tensor named `name`, or -1.
  int Find(const std::string& name) const;

  int wte() const { return wte_; }
  int wpe() const { return wpe_; }
  int ln_f_weight() const { return ln_f_weight_; }
  int ln_f_bias() const { return ln_f_bias_; }
  const BlockTensors& block(int layer) const { return blocks_[layer]; }

 private:
  // Appends a tensor and returns its index.
  int Add(std::string name, std::vector<int64_t> global_shape, std::vector<RowRange> rows, int64_t col_start,
          int64_t local_cols, bool decay, bool tp_replicated, float init_std, float init_value);

  GptShape shape_;
  int tp_rank_;
  int tp_size_;
  std::vector<ParameterSpec> tensors_;
  std::vector<BlockTensors> blocks_;
  int64_t total_size_ = 0;
  int wte_ = -1, wpe_ = -1, ln_f_weight_ = -1, ln_f_bias_ = -1;
};

// Fills `params` (total_size elements) with GPT-2's initialization: weights normal(0, 0.02), residual projections
// normal(0, 0.02 / sqrt(2 * layers)), biases 0, LayerNorm weights 1, padded vocabulary rows 0. Each element's value
// depends only on (seed, tensor name, global index), so every tensor-parallel width gets the same global model.
void InitializeParameters(const ParameterLayout& layout, uint64_t seed, float* params);

}  // namespace kachi

#endif  // KACHI_RUNTIME_MODEL_PARAMETER_LAYOUT_H_
