// The byte-level tokenizer: vocabulary of 256, token = byte value. Lossless for any input (text or binary), so it
// needs no vocabulary file; models trained on it use vocab_size 256.
#ifndef KACHI_RUNTIME_DATA_BYTE_TOKENIZER_H_
#define KACHI_RUNTIME_DATA_BYTE_TOKENIZER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace kachi {

// Number of tokens of the byte tokenizer.
inline constexpr int kByteVocabSize = 256;

// One token per byte of `text`, equal to the byte's unsigned value.
std::vector<uint16_t> ByteTokenize(absl::string_view text);

// The bytes back from tokens; InvalidArgument naming the position when a token is >= 256.
absl::StatusOr<std::string> ByteDetokenize(absl::Span<const uint16_t> tokens);

}  // namespace kachi

#endif  // KACHI_RUNTIME_DATA_BYTE_TOKENIZER_H_
