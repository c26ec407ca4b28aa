// GptShape: the sizes of a GPT-2-style transformer (layers, heads, width, vocabulary, context) with named presets
// and the checks that a tensor-parallel width imposes on them.
#ifndef KACHI_RUNTIME_MODEL_GPT_SHAPE_H_
#define KACHI_RUNTIME_MODEL_GPT_SHAPE_H_

#include <cstdint>
#include <map>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace kachi {

// Sizes of a GPT-2 model. The token embedding (and the tied LM head) has padded_vocab rows, of which the first
// vocab_size are real tokens; padding keeps the vocabulary divisible by the tensor-parallel width and the matmuls
// aligned (GPT-2 124M: 50257 real, 50304 padded, as llm.c).
struct GptShape {
  int64_t layers = 0;
  int64_t heads = 0;
  int64_t width = 0;  // C: the residual stream's channels
  int64_t vocab_size = 0;
  int64_t padded_vocab = 0;
  int64_t context = 0;  // maximum sequence length (rows of the position embedding)

  int64_t head_size() const { return width / heads; }
  // Parameters of the model (real plus padded vocabulary rows), for FLOP and memory estimates.
  int64_t num_parameters() const;
};

// Named sizes: "gpt2_124m" (12 layers, 12 heads, 768 wide, vocab 50257/50304, context 1024), "gpt2_350m",
// "gpt2_774m", "gpt2_1558m", and "tiny" (2 layers, 4 heads, 64 wide, byte vocabulary 256, context 64).
absl::StatusOr<GptShape> GptPreset(absl::string_view name);

// The smallest multiple of `multiple` that is >= vocab_size.
int64_t PadVocab(int64_t vocab_size, int64_t multiple);

// Checks the shape for a run at tensor-parallel width `tp`: positive sizes, width divisible by heads, heads and
// padded vocabulary divisible by tp, padded_vocab >= vocab_size. The error names the sizes and the rule.
absl::Status ValidateShape(const GptShape& shape, int tp);

// "12L 12H 768C vocab 50257(50304) ctx 1024".
std::string DescribeShape(const GptShape& shape);

// The shape as string metadata ("kachi.layers", "kachi.heads", "kachi.width", "kachi.vocab_size",
// "kachi.padded_vocab", "kachi.context"), stored in exported weight files so they can be loaded without a config.
std::map<std::string, std::string> ShapeMetadata(const GptShape& shape);
// Inverse of ShapeMetadata; NotFound / InvalidArgument naming the missing or malformed key.
absl::StatusOr<GptShape> ShapeFromMetadata(const std::map<std::string, std::string>& metadata);

}  // namespace kachi

#endif  // KACHI_RUNTIME_MODEL_GPT_SHAPE_H_
