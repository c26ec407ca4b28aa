// Token ids -> text for `kachi sample`. ByteDecoder is kachi's byte-level vocabulary (id = byte); a BPE
// tokenizer (issue 16 item 4, runtime/data/bpe_*) plugs in by implementing TokenDecoder, and IdDecoder prints ids
// for vocabularies with no decoder.
#ifndef KACHI_RUNTIME_SAMPLE_TOKEN_DECODER_H_
#define KACHI_RUNTIME_SAMPLE_TOKEN_DECODER_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/types/span.h"

namespace kachi {

// Turns generated token ids into the text printed for them. Decoding is incremental: Decode receives every id
// generated so far and returns the text of all of them (byte-level BPE may need several ids for one character).
class TokenDecoder {
 public:
  virtual ~TokenDecoder() = default;
  // The text of `ids`.
  virtual std::string Decode(absl::Span<const int32_t> ids) const = 0;
};

// Byte-level vocabulary (256 ids): id i is the byte i.
class ByteDecoder : public TokenDecoder {
 public:
  std::string Decode(absl::Span<const int32_t> ids) const override;
};

// Any vocabulary: the ids in decimal, each followed by a space.
class IdDecoder : public TokenDecoder {
 public:
  std::string Decode(absl::Span<const int32_t> ids) const override;
};

// The decoder for a model of `vocab_size` with no tokenizer given: bytes for 256, ids otherwise.
std::unique_ptr<TokenDecoder> DefaultDecoder(int64_t vocab_size);

}  // namespace kachi

#endif  // KACHI_RUNTIME_SAMPLE_TOKEN_DECODER_H_
