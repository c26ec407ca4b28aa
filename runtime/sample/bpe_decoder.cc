// BpeDecoder: each id's bytes from the tokenizer, <id> for ids outside its vocabulary.
#include "runtime/sample/bpe_decoder.h"

#include "absl/strings/str_cat.h"

namespace kachi {

std::string BpeDecoder::Decode(absl::Span<const int32_t> ids) const {
  std::string text;
  for (int32_t id : ids) {
    absl::StatusOr<std::string> bytes = tokenizer_->TokenBytes(id);
    if (bytes.ok()) {
      text += *bytes;
    } else {
      absl::StrAppend(&text, "<", id, ">");
    }
  }
  return text;
}

}  // namespace kachi
