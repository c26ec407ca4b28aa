// ParameterLayout construction and GPT-2 initialization (see parameter_layout.h).
#include "runtime/model/parameter_layout.h"

#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "runtime/model/counter_rng.h"

namespace kachi {

int64_t ParameterSpec::local_rows() const {
  int64_t total = 0;
  for (const RowRange& range : rows) total += range.count;
  return total;
}

int64_t ParameterSpec::GlobalIndex(int64_t local_index) const {
  int64_t local_row = local_index / local_cols;
  const int64_t col = col_start + local_index % local_cols;
  for (const RowRange& range : rows) {
    if (local_row < range.count) return (range.start + local_row) * global_cols + col;
    local_row -= range.count;
  }
  return -1;
}

int ParameterLayout::Add(std::string name, std::vector<int64_t> global_shape, std::vector<RowRange> rows,
                         int64_t col_start, int64_t local_cols, bool decay, bool tp_replicated, float init_std,
                         float init_value) {
  ParameterSpec spec;
  spec.name = std::move(name);
  spec.global_rows = global_shape[0];
  spec.global_cols = global_shape.size() > 1 ? global_shape[1] : 1;
  spec.global_shape = std::move(global_shape);
  spec.rows = std::move(rows);
  spec.col_start = col_start;
  spec.local_cols = local_cols;
  spec.offset = total_size_;
  spec.size = spec.local_rows() * local_cols;
  spec.decay = decay;
  spec.tp_replicated = tp_replicated;
  spec.init_std = init_std;
  spec.init_value = init_value;
  total_size_ += spec.size;
  tensors_.push_back(std::move(spec));
  return static_cast<int>(tensors_.size()) - 1;
}

ParameterLayout::ParameterLayout(const GptShape& shape, int tp_rank, int tp_size)
    : shape_(shape), tp_rank_(tp_rank), tp_size_(tp_size) {
  const int64_t c = shape.width;
  const int64_t c_local = c / tp_size;          // this rank's attention channels (its heads)
  const int64_t ff = 4 * c;
  const int64_t ff_local = ff / tp_size;
  const int64_t vocab_local = shape.padded_vocab / tp_size;
  const float std = 0.02f;
  const float proj_std = 0.02f / std::sqrt(2.0f * static_cast<float>(shape.layers));
  auto all = [](int64_t n) { return std::vector<RowRange>{{0, n}}; };
  auto mine = [&](int64_t block) { return std::vector<RowRange>{{tp_rank * block, block}}; };
  // The q, k and v row blocks of this rank's heads.
  const std::vector<RowRange> qkv_rows = {{tp_rank * c_local, c_local}, {c + tp_rank * c_local, c_local},
                                          {2 * c + tp_rank * c_local, c_local}};

  wte_ = Add("wte.weight", {shape.padded_vocab, c}, mine(vocab_local), 0, c, true, false, std, 0);
  wpe_ = Add("wpe.weight", {shape.context, c}, all(shape.context), 0, c, true, true, std, 0);
  for (int64_t l = 0; l < shape.layers; ++l) {
    const std::string p = absl::StrCat("h.", l, ".");
    BlockTensors b;
    b.ln_1_weight = Add(p + "ln_1.weight", {c}, all(c), 0, 1, false, true, 0, 1);
    b.ln_1_bias = Add(p + "ln_1.bias", {c}, all(c), 0, 1, false, true, 0, 0);
    b.c_attn_weight = Add(p + "attn.c_attn.weight", {3 * c, c}, qkv_rows, 0, c, true, false, std, 0);
    b.c_attn_bias = Add(p + "attn.c_attn.bias", {3 * c}, qkv_rows, 0, 1, false, false, 0, 0);
    b.attn_proj_weight =
        Add(p + "attn.c_proj.weight", {c, c}, all(c), tp_rank * c_local, c_local, true, false, proj_std, 0);
    b.attn_proj_bias = Add(p + "attn.c_proj.bias", {c}, all(c), 0, 1, false, true, 0, 0);
    b.ln_2_weight = Add(p + "ln_2.weight", {c}, all(c), 0, 1, false, true, 0, 1);
    b.ln_2_bias = Add(p + "ln_2.bias", {c}, all(c), 0, 1, false, true, 0, 0);
    b.c_fc_weight = Add(p + "mlp.c_fc.weight", {ff, c}, mine(ff_local), 0, c, true, false, std, 0);
    b.c_fc_bias = Add(p + "mlp.c_fc.bias", {ff}, mine(ff_local), 0, 1, false, false, 0, 0);
    b.mlp_proj_weight =
        Add(p + "mlp.c_proj.weight", {c, ff}, all(c), tp_rank * ff_local, ff_local, true, false, proj_std, 0);
    b.mlp_proj_bias = Add(p + "mlp.c_proj.bias", {c}, all(c), 0, 1, false, true, 0, 0);
    blocks_.push_back(b);
  }
  ln_f_weight_ = Add("ln_f.weight", {c}, all(c), 0, 1, false, true, 0, 1);
  ln_f_bias_ = Add("ln_f.bias", {c}, all(c), 0, 1, false, true, 0, 0);
}

int ParameterLayout::Find(const std::string& name) const {
  for (size_t i = 0; i < tensors_.size(); ++i) {
    if (tensors_[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

void InitializeParameters(const ParameterLayout& layout, uint64_t seed, float* params) {
  const int64_t real_vocab = layout.shape().vocab_size;
  for (size_t t = 0; t < layout.tensors().size(); ++t) {
    const ParameterSpec& spec = layout.tensors()[t];
    float* out = params + spec.offset;
    if (spec.init_std <= 0) {
      for (int64_t i = 0; i < spec.size; ++i) out[i] = spec.init_value;
      continue;
    }
    const CounterRng rng(seed, spec.name);
    const bool is_wte = static_cast<int>(t) == layout.wte();
    for (int64_t i = 0; i < spec.size; ++i) {
      const int64_t global = spec.GlobalIndex(i);
      if (is_wte && global / spec.global_cols >= real_vocab) {
        out[i] = 0.0f;  // padded vocabulary rows stay zero
        continue;
      }
      out[i] = spec.init_std * rng.Normal(static_cast<uint64_t>(global));
    }
  }
}

}  // namespace kachi
