// The GPT-2 pre-tokenizer: splits text into the pieces that byte-level BPE encodes independently, as the regex
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// does (leftmost alternative first, greedy), implemented by hand on decoded UTF-8 (bpe_unicode.h).
#ifndef KACHI_RUNTIME_DATA_BPE_PRETOKENIZER_H_
#define KACHI_RUNTIME_DATA_BPE_PRETOKENIZER_H_

#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/strings/string_view.h"

namespace kachi {

// Calls `piece` with each piece of `text` in order (views into `text`; together they cover it exactly).
void ForEachPreToken(absl::string_view text, absl::FunctionRef<void(absl::string_view)> piece);

// The pieces of `text` as strings (for tests).
std::vector<std::string> PreTokenize(absl::string_view text);

}  // namespace kachi

#endif  // KACHI_RUNTIME_DATA_BPE_PRETOKENIZER_H_
