// How one kachi GPT tensor looks in a Hugging Face GPT-2 file: Conv1D weights (attn.c_attn, attn.c_proj, mlp.c_fc,
// mlp.c_proj) are stored transposed ([in, out] versus kachi's [out, in]); wte keeps only the vocab_size real rows
// (kachi pads it to padded_vocab); everything else has kachi's global shape. Conversions work on whole global
// tensors (row-major); sharding is tensor_shard.h's job.
#ifndef KACHI_RUNTIME_IO_HF_GPT2_TENSORS_H_
#define KACHI_RUNTIME_IO_HF_GPT2_TENSORS_H_

#include <cstdint>
#include <vector>

#include "runtime/model/parameter_layout.h"

namespace kachi {

// How a tensor differs between kachi's global view and the Hugging Face file.
enum class HfTensorForm { kSame, kTransposed, kVocabRows };

// The form of tensor `index` of `layout`.
HfTensorForm HfFormOf(const ParameterLayout& layout, int index);

// The tensor's shape in a Hugging Face GPT-2 file.
std::vector<int64_t> HfShapeOf(const ParameterLayout& layout, int index);

// Kachi global tensor (GlobalElementCount elements, row-major) -> Hugging Face values (HfShapeOf order).
std::vector<float> KachiGlobalToHf(const ParameterLayout& layout, int index, const float* global);

// Hugging Face values (HfShapeOf order) -> kachi global tensor; padded vocabulary rows are zero.
std::vector<float> HfToKachiGlobal(const ParameterLayout& layout, int index, const std::vector<float>& hf);

}  // namespace kachi

#endif  // KACHI_RUNTIME_IO_HF_GPT2_TENSORS_H_
