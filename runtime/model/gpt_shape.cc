// GptShape presets and validation (see gpt_shape.h).
#include "runtime/model/gpt_shape.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace kachi {

int64_t GptShape::num_parameters() const {
  const int64_t c = width;
  const int64_t per_layer = 2 * c + (3 * c * c + 3 * c) + (c * c + c) + 2 * c + (4 * c * c + 4 * c) + (4 * c * c + c);
  return padded_vocab * c + context * c + layers * per_layer + 2 * c;
}

int64_t PadVocab(int64_t vocab_size, int64_t multiple) {
  return (vocab_size + multiple - 1) / multiple * multiple;
}

absl::StatusOr<GptShape> GptPreset(absl::string_view name) {
  auto gpt2 = [](int64_t layers, int64_t heads, int64_t width) {
    return GptShape{layers, heads, width, 50257, 50304, 1024};
  };
  if (name == "gpt2_124m") return gpt2(12, 12, 768);
  if (name == "gpt2_350m") return gpt2(24, 16, 1024);
  if (name == "gpt2_774m") return gpt2(36, 20, 1280);
  if (name == "gpt2_1558m") return gpt2(48, 25, 1600);
  if (name == "tiny") return GptShape{2, 4, 64, 256, 256, 64};
  return absl::InvalidArgumentError(absl::StrCat("unknown model preset '", name,
                                                 "' (known: gpt2_124m, gpt2_350m, gpt2_774m, gpt2_1558m, tiny)"));
}

absl::Status ValidateShape(const GptShape& s, int tp) {
  if (s.layers <= 0 || s.heads <= 0 || s.width <= 0 || s.vocab_size <= 0 || s.context <= 0) {
    return absl::InvalidArgumentError(absl::StrCat("model sizes must be positive, found ", DescribeShape(s)));
  }
  if (tp <= 0) return absl::InvalidArgumentError(absl::StrCat("tensor-parallel width must be >= 1, found ", tp));
  if (s.width % s.heads != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("model width ", s.width, " is not divisible by its ", s.heads, " heads"));
  }
  if (s.heads % tp != 0) {
    return absl::InvalidArgumentError(absl::StrCat("model heads (", s.heads,
                                                   ") must be divisible by the tensor-parallel width tp=", tp));
  }
  if (s.padded_vocab < s.vocab_size) {
    return absl::InvalidArgumentError(
        absl::StrCat("padded_vocab ", s.padded_vocab, " is smaller than vocab_size ", s.vocab_size));
  }
  if (s.padded_vocab % tp != 0) {
    return absl::InvalidArgumentError(absl::StrCat("padded vocabulary (", s.padded_vocab,
                                                   ") must be divisible by the tensor-parallel width tp=", tp,
                                                   "; set model.padded_vocab to a multiple of it"));
  }
  return absl::OkStatus();
}

std::string DescribeShape(const GptShape& s) {
  return absl::StrCat(s.layers, "L ", s.heads, "H ", s.width, "C vocab ", s.vocab_size, "(", s.padded_vocab,
                      ") ctx ", s.context);
}

namespace {

// The shape's fields with their metadata keys.
struct ShapeField {
  const char* key;
  int64_t GptShape::*field;
};
constexpr ShapeField kShapeFields[] = {
    {"kachi.layers", &GptShape::layers},         {"kachi.heads", &GptShape::heads},
    {"kachi.width", &GptShape::width},           {"kachi.vocab_size", &GptShape::vocab_size},
    {"kachi.padded_vocab", &GptShape::padded_vocab}, {"kachi.context", &GptShape::context},
};

}  // namespace

std::map<std::string, std::string> ShapeMetadata(const GptShape& shape) {
  std::map<std::string, std::string> out;
  for (const ShapeField& f : kShapeFields) out[f.key] = absl::StrCat(shape.*f.field);
  return out;
}

absl::StatusOr<GptShape> ShapeFromMetadata(const std::map<std::string, std::string>& metadata) {
  GptShape shape;
  for (const ShapeField& f : kShapeFields) {
    auto it = metadata.find(f.key);
    if (it == metadata.end()) return absl::NotFoundError(absl::StrCat("metadata has no '", f.key, "'"));
    if (!absl::SimpleAtoi(it->second, &(shape.*f.field))) {
      return absl::InvalidArgumentError(absl::StrCat("metadata '", f.key, "' = '", it->second, "' is not an integer"));
    }
  }
  return shape;
}

}  // namespace kachi
