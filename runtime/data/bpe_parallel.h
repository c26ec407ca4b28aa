// Encoding a large text with a BpeTokenizer on several threads. The text is cut into chunks only right after a
// '\n' followed by a printable ASCII character, where the GPT-2 pre-tokenizer always ends a piece, so the ids equal
// those of one Encode call over the whole text (no cut at all when an added token contains a newline).
#ifndef KACHI_RUNTIME_DATA_BPE_PARALLEL_H_
#define KACHI_RUNTIME_DATA_BPE_PARALLEL_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "absl/strings/string_view.h"
#include "runtime/data/bpe_tokenizer.h"

namespace kachi {

// Encodes `text` on `threads` threads (>= 1) in chunks of about `chunk_bytes`; `progress`, when set, is called
// (from worker threads, one call at a time) with the bytes encoded so far after each chunk.
std::vector<int32_t> EncodeParallel(const BpeTokenizer& tokenizer, absl::string_view text, int threads,
                                    size_t chunk_bytes = size_t{1} << 20,
                                    const std::function<void(size_t)>& progress = nullptr);

}  // namespace kachi

#endif  // KACHI_RUNTIME_DATA_BPE_PARALLEL_H_
