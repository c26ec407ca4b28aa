// Kachi <-> Hugging Face GPT-2 tensor forms (see hf_gpt2_tensors.h).
#include "runtime/io/hf_gpt2_tensors.h"

#include <algorithm>

#include "runtime/io/tensor_shard.h"

namespace kachi {

HfTensorForm HfFormOf(const ParameterLayout& layout, int index) {
  if (index == layout.wte()) return HfTensorForm::kVocabRows;
  for (int64_t l = 0; l < layout.shape().layers; ++l) {
    const BlockTensors& b = layout.block(static_cast<int>(l));
    if (index == b.c_attn_weight || index == b.attn_proj_weight || index == b.c_fc_weight ||
        index == b.mlp_proj_weight) {
      return HfTensorForm::kTransposed;
    }
  }
  return HfTensorForm::kSame;
}

std::vector<int64_t> HfShapeOf(const ParameterLayout& layout, int index) {
  const ParameterSpec& spec = layout.tensors()[index];
  switch (HfFormOf(layout, index)) {
    case HfTensorForm::kTransposed:
      return {spec.global_cols, spec.global_rows};
    case HfTensorForm::kVocabRows:
      return {layout.shape().vocab_size, spec.global_cols};
    case HfTensorForm::kSame:
      break;
  }
  return spec.global_shape;
}

std::vector<float> KachiGlobalToHf(const ParameterLayout& layout, int index, const float* global) {
  const ParameterSpec& spec = layout.tensors()[index];
  const int64_t rows = spec.global_rows, cols = spec.global_cols;
  switch (HfFormOf(layout, index)) {
    case HfTensorForm::kTransposed: {
      std::vector<float> hf(rows * cols);
      for (int64_t r = 0; r < rows; ++r) {
        for (int64_t c = 0; c < cols; ++c) hf[c * rows + r] = global[r * cols + c];
      }
      return hf;
    }
    case HfTensorForm::kVocabRows:
      return std::vector<float>(global, global + layout.shape().vocab_size * cols);
    case HfTensorForm::kSame:
      break;
  }
  return std::vector<float>(global, global + GlobalElementCount(spec));
}

std::vector<float> HfToKachiGlobal(const ParameterLayout& layout, int index, const std::vector<float>& hf) {
  const ParameterSpec& spec = layout.tensors()[index];
  const int64_t rows = spec.global_rows, cols = spec.global_cols;
  std::vector<float> global(GlobalElementCount(spec), 0.0f);
  switch (HfFormOf(layout, index)) {
    case HfTensorForm::kTransposed:
      for (int64_t r = 0; r < rows; ++r) {
        for (int64_t c = 0; c < cols; ++c) global[r * cols + c] = hf[c * rows + r];
      }
      break;
    case HfTensorForm::kVocabRows:  // rows past vocab_size stay zero
    case HfTensorForm::kSame:
      std::copy(hf.begin(), hf.end(), global.begin());
      break;
  }
  return global;
}

}  // namespace kachi
