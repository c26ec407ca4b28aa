// BpeTokenizer: GPT-2 style byte-level BPE. Encoding matches Hugging Face `tokenizers` (ByteLevel pre-tokenizer
// without prefix space, BPE model): added tokens such as <|endoftext|> are matched verbatim first (leftmost, then
// longest), the rest is split by the GPT-2 regex (bpe_pretokenizer.h), each piece's bytes are mapped to their
// printable code points (bpe_byte_map.h) and merged by merge rank. Decoding maps tokens back to bytes.
//
//   absl::StatusOr<BpeTokenizer> tok = BpeTokenizer::Load("DIR");   // tokenizer.json or vocab.json + merges.txt
//   std::vector<int32_t> ids = tok->Encode("Hello<|endoftext|>");
//   absl::StatusOr<std::string> text = tok->Decode(ids);
#ifndef KACHI_RUNTIME_DATA_BPE_TOKENIZER_H_
#define KACHI_RUNTIME_DATA_BPE_TOKENIZER_H_

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "runtime/data/bpe_files.h"

namespace kachi {

// An immutable byte-level BPE tokenizer; Encode and Decode are safe to call from several threads at once.
class BpeTokenizer {
 public:
  // Loads a tokenizer.json file or a directory (see LoadBpeFiles) and indexes it.
  static absl::StatusOr<BpeTokenizer> Load(const std::string& path);
  // Indexes loaded files. InvalidArgument when a byte's single-character token is missing, a merge names a token
  // not in the vocabulary, or an id is negative or repeated for different tokens.
  static absl::StatusOr<BpeTokenizer> FromFiles(const BpeFiles& files);

  // Token ids of `text` (any bytes; invalid UTF-8 is encoded byte by byte).
  std::vector<int32_t> Encode(absl::string_view text) const;
  // Appends the ids of `text` to `out` (as Encode).
  void EncodeAppend(absl::string_view text, std::vector<int32_t>& out) const;

  // The bytes of `ids` concatenated; InvalidArgument naming the position of an id outside [0, vocab_size()) or
  // one no token has.
  absl::StatusOr<std::string> Decode(absl::Span<const int32_t> ids) const;
  // The bytes of one token (for streaming output); InvalidArgument as Decode.
  absl::StatusOr<std::string> TokenBytes(int32_t id) const;

  // One more than the largest id (the model's vocab_size must be at least this).
  int vocab_size() const { return static_cast<int>(token_bytes_.size()); }
  // The id of added token `content` (e.g. "<|endoftext|>"), or -1.
  int32_t AddedTokenId(absl::string_view content) const;
  // Where the tokenizer was loaded from.
  const std::string& source() const { return source_; }
  // The added tokens (matched before BPE), longest first.
  const std::vector<BpeAddedToken>& added_tokens() const { return added_tokens_; }

 private:
  struct Merge {
    int32_t rank;
    int32_t merged_id;
  };
  // Appends the BPE ids of one pre-tokenized piece (short pieces by a quadratic scan, long ones by EncodeLongPiece).
  void EncodePiece(absl::string_view piece, std::vector<int32_t>& out) const;
  // The same result for a long piece with a heap of candidate merges (O(n log n)).
  void EncodeLongPiece(absl::string_view piece, std::vector<int32_t>& out) const;
  // Appends the ids of text holding no added token.
  void EncodeOrdinary(absl::string_view text, std::vector<int32_t>& out) const;

  std::array<int32_t, 256> byte_ids_{};
  absl::flat_hash_map<uint64_t, Merge> merges_;  // key: (left id << 32) | right id
  std::vector<std::string> token_bytes_;         // by id; empty for an unused id
  std::vector<bool> has_token_;                  // by id
  std::vector<BpeAddedToken> added_tokens_;
  std::string source_;
};

}  // namespace kachi

#endif  // KACHI_RUNTIME_DATA_BPE_TOKENIZER_H_
