// Byte and id decoders (token_decoder.h).
#include "runtime/sample/token_decoder.h"

#include "absl/strings/str_cat.h"

namespace kachi {

std::string ByteDecoder::Decode(absl::Span<const int32_t> ids) const {
  std::string text;
  text.reserve(ids.size());
  for (int32_t id : ids) text.push_back(static_cast<char>(static_cast<unsigned char>(id)));
  return text;
}

std::string IdDecoder::Decode(absl::Span<const int32_t> ids) const {
  std::string text;
  for (int32_t id : ids) absl::StrAppend(&text, id, " ");
  return text;
}

std::unique_ptr<TokenDecoder> DefaultDecoder(int64_t vocab_size) {
  if (vocab_size == 256) return std::make_unique<ByteDecoder>();
  return std::make_unique<IdDecoder>();
}

}  // namespace kachi
