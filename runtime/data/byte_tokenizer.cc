// Byte-level tokenizer (see byte_tokenizer.h).
#include "runtime/data/byte_tokenizer.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace kachi {

std::vector<uint16_t> ByteTokenize(absl::string_view text) {
  std::vector<uint16_t> tokens(text.size());
  for (size_t i = 0; i < text.size(); ++i) tokens[i] = static_cast<unsigned char>(text[i]);
  return tokens;
}

absl::StatusOr<std::string> ByteDetokenize(absl::Span<const uint16_t> tokens) {
  std::string text(tokens.size(), '\0');
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (tokens[i] >= kByteVocabSize) {
      return absl::InvalidArgumentError(absl::StrCat("token ", tokens[i], " at position ", i,
                                                     " is not a byte (byte tokenizer vocab is ", kByteVocabSize,
                                                     ")"));
    }
    text[i] = static_cast<char>(tokens[i]);
  }
  return text;
}

}  // namespace kachi
