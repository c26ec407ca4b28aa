// Token ids -> text through a byte-level BPE tokenizer (runtime/data/bpe_tokenizer.h) for `kachi sample
// --sample_tokenizer`. Ids the model has but the tokenizer lacks (a vocabulary padded past the tokenizer's, as
// GPT-2's 50257 -> 50304) print as <id>.
#ifndef KACHI_RUNTIME_SAMPLE_BPE_DECODER_H_
#define KACHI_RUNTIME_SAMPLE_BPE_DECODER_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/types/span.h"
#include "runtime/data/bpe_tokenizer.h"
#include "runtime/sample/token_decoder.h"

namespace kachi {

// Decodes with a loaded tokenizer (shared with whoever encodes the prompt).
class BpeDecoder : public TokenDecoder {
 public:
  explicit BpeDecoder(std::shared_ptr<const BpeTokenizer> tokenizer) : tokenizer_(std::move(tokenizer)) {}
  std::string Decode(absl::Span<const int32_t> ids) const override;

 private:
  std::shared_ptr<const BpeTokenizer> tokenizer_;
};

}  // namespace kachi

#endif  // KACHI_RUNTIME_SAMPLE_BPE_DECODER_H_
