// Unicode pieces the GPT-2 pre-tokenizer needs: UTF-8 decoding of one code point (invalid bytes decode as single
// "other" characters, so any byte string can be split) and the classes \p{L}, \p{N} and \s of its regex.
#ifndef KACHI_RUNTIME_DATA_BPE_UNICODE_H_
#define KACHI_RUNTIME_DATA_BPE_UNICODE_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace kachi {

// The regex class a character belongs to (one of them; \p{L} and \p{N} never overlap \s).
enum class CharClass : uint8_t { kLetter, kNumber, kSpace, kOther };

// One decoded character: its code point (0xFFFD for an invalid byte) and its length in bytes (>= 1).
struct DecodedChar {
  uint32_t code_point = 0;
  int length = 1;
};

// Decodes the character starting at text[pos] (pos < text.size()). A byte that does not start a well-formed UTF-8
// sequence (overlong, surrogate, truncated, > U+10FFFF) decodes alone as U+FFFD with length 1.
DecodedChar DecodeUtf8(absl::string_view text, size_t pos);

// Appends the UTF-8 encoding of `code_point` (<= U+10FFFF) to `out`.
void AppendUtf8(uint32_t code_point, std::string& out);

// The class of a code point: \s is Unicode White_Space (as Oniguruma's \s), \p{L} the categories Lu Ll Lt Lm Lo,
// \p{N} the categories Nd Nl No; everything else is kOther.
CharClass ClassifyCodePoint(uint32_t code_point);

namespace bpe_internal {
// An inclusive range of code points (the generated table of bpe_unicode_table.cc).
struct CodePointRange {
  uint32_t lo;
  uint32_t hi;
};
extern const CodePointRange kLetterRanges[];
extern const size_t kLetterRangesSize;
extern const CodePointRange kNumberRanges[];
extern const size_t kNumberRangesSize;
}  // namespace bpe_internal

}  // namespace kachi

#endif  // KACHI_RUNTIME_DATA_BPE_UNICODE_H_
