// The GPT-2 pre-tokenizer regex, by hand (see bpe_pretokenizer.h).
#include "runtime/data/bpe_pretokenizer.h"

#include "runtime/data/bpe_unicode.h"

namespace kachi {
namespace {

// Length in bytes of a contraction ('s 't 're 've 'm 'll 'd, case-sensitive) at text[pos], else 0.
size_t ContractionLength(absl::string_view text, size_t pos) {
  if (text[pos] != '\'' || pos + 1 >= text.size()) return 0;
  const char c = text[pos + 1];
  if (c == 's' || c == 't' || c == 'm' || c == 'd') return 2;
  if (pos + 2 < text.size()) {
    const char d = text[pos + 2];
    if ((c == 'r' && d == 'e') || (c == 'v' && d == 'e') || (c == 'l' && d == 'l')) return 3;
  }
  return 0;
}

// The class and byte length of the character at text[pos].
struct ClassedChar {
  CharClass cls;
  int length;
};
ClassedChar CharAt(absl::string_view text, size_t pos) {
  const DecodedChar decoded = DecodeUtf8(text, pos);
  return {ClassifyCodePoint(decoded.code_point), decoded.length};
}

// End of the run of characters starting at `pos` for which `same(class)` holds.
template <typename Pred>
size_t RunEnd(absl::string_view text, size_t pos, Pred same) {
  while (pos < text.size()) {
    const ClassedChar c = CharAt(text, pos);
    if (!same(c.cls)) break;
    pos += c.length;
  }
  return pos;
}

// Length of the piece starting at text[pos] (> 0).
size_t PieceLength(absl::string_view text, size_t pos) {
  if (const size_t n = ContractionLength(text, pos); n > 0) return n;
  // " ?X+" for the three non-space classes: an optional ASCII space, then a run of the class of the next char.
  size_t start = pos;
  if (text[pos] == ' ' && pos + 1 < text.size()) start = pos + 1;
  const ClassedChar first = CharAt(text, start);
  if (first.cls != CharClass::kSpace) {
    if (first.cls == CharClass::kOther) {
      return RunEnd(text, start, [](CharClass c) { return c == CharClass::kOther; }) - pos;
    }
    const CharClass want = first.cls;
    return RunEnd(text, start, [want](CharClass c) { return c == want; }) - pos;
  }
  // Whitespace: \s+(?!\S) takes the run but leaves its last character when a non-space follows (unless that would
  // leave nothing); \s+ then takes the whole run.
  size_t last_start = pos;
  size_t end = pos;
  while (end < text.size()) {
    const ClassedChar c = CharAt(text, end);
    if (c.cls != CharClass::kSpace) break;
    last_start = end;
    end += c.length;
  }
  if (end == text.size() || last_start == pos) return end - pos;
  return last_start - pos;
}

}  // namespace

void ForEachPreToken(absl::string_view text, absl::FunctionRef<void(absl::string_view)> piece) {
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t length = PieceLength(text, pos);
    piece(text.substr(pos, length));
    pos += length;
  }
}

std::vector<std::string> PreTokenize(absl::string_view text) {
  std::vector<std::string> pieces;
  ForEachPreToken(text, [&](absl::string_view p) { pieces.emplace_back(p); });
  return pieces;
}

}  // namespace kachi
