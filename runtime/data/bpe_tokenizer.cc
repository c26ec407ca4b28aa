// BpeTokenizer (see bpe_tokenizer.h): indexing of the files, added-token split, per-piece merges, decoding.
#include "runtime/data/bpe_tokenizer.h"

#include <algorithm>
#include <functional>
#include <queue>
#include <limits>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "runtime/data/bpe_byte_map.h"
#include "runtime/data/bpe_pretokenizer.h"
#include "runtime/data/bpe_unicode.h"

namespace kachi {
namespace {

uint64_t PairKey(int32_t left, int32_t right) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
}

// The bytes a vocabulary spelling stands for, or the spelling itself when some character is not a mapped byte.
std::string SpellingToBytes(const std::string& spelling) {
  std::string bytes;
  for (size_t pos = 0; pos < spelling.size();) {
    const DecodedChar c = DecodeUtf8(spelling, pos);
    const int b = CodePointToByte(c.code_point);
    if (b < 0) return spelling;
    bytes.push_back(static_cast<char>(b));
    pos += c.length;
  }
  return bytes;
}

}  // namespace

absl::StatusOr<BpeTokenizer> BpeTokenizer::Load(const std::string& path) {
  absl::StatusOr<BpeFiles> files = LoadBpeFiles(path);
  if (!files.ok()) return files.status();
  return FromFiles(*files);
}

absl::StatusOr<BpeTokenizer> BpeTokenizer::FromFiles(const BpeFiles& files) {
  BpeTokenizer tok;
  tok.source_ = files.source;
  const auto error = [&](absl::string_view what) {
    return absl::InvalidArgumentError(absl::StrCat("tokenizer ", files.source, ": ", what));
  };
  absl::flat_hash_map<std::string, int32_t> ids;
  ids.reserve(files.vocab.size());
  int32_t max_id = -1;
  for (const auto& [token, id] : files.vocab) max_id = std::max(max_id, static_cast<int32_t>(id));
  for (const BpeAddedToken& added : files.added_tokens) max_id = std::max(max_id, static_cast<int32_t>(added.id));
  if (max_id < 0) return error("empty vocabulary");
  tok.token_bytes_.assign(max_id + 1, std::string());
  tok.has_token_.assign(max_id + 1, false);
  for (const auto& [token, id] : files.vocab) {
    if (id < 0) return error(absl::StrCat("token \"", token, "\" has negative id ", id));
    if (tok.has_token_[id]) return error(absl::StrCat("id ", id, " is given to two tokens"));
    tok.has_token_[id] = true;
    tok.token_bytes_[id] = SpellingToBytes(token);
    ids.emplace(token, id);
  }
  for (const BpeAddedToken& added : files.added_tokens) {
    if (added.id < 0) return error(absl::StrCat("added token \"", added.content, "\" has a negative id"));
    if (tok.has_token_[added.id] && tok.token_bytes_[added.id] != added.content) {
      const auto it = ids.find(added.content);
      if (it == ids.end() || it->second != added.id) {
        return error(absl::StrCat("added token \"", added.content, "\" reuses id ", added.id));
      }
    }
    tok.has_token_[added.id] = true;
    tok.token_bytes_[added.id] = added.content;
    tok.added_tokens_.push_back(added);
  }
  std::stable_sort(tok.added_tokens_.begin(), tok.added_tokens_.end(),
                   [](const BpeAddedToken& a, const BpeAddedToken& b) { return a.content.size() > b.content.size(); });
  const std::array<uint32_t, 256>& code_points = ByteToCodePoint();
  for (int b = 0; b < 256; ++b) {
    std::string spelling;
    AppendUtf8(code_points[b], spelling);
    const auto it = ids.find(spelling);
    if (it == ids.end()) {
      return error(absl::StrCat("the vocabulary lacks the single-byte token \"", spelling, "\" (byte ", b,
                                "); not a byte-level BPE vocabulary"));
    }
    tok.byte_ids_[b] = it->second;
  }
  tok.merges_.reserve(files.merges.size());
  for (size_t rank = 0; rank < files.merges.size(); ++rank) {
    const auto& [left, right] = files.merges[rank];
    const auto l = ids.find(left);
    const auto r = ids.find(right);
    const auto m = ids.find(left + right);
    if (l == ids.end() || r == ids.end() || m == ids.end()) {
      return error(absl::StrCat("merge ", rank, " \"", left, " ", right, "\" names a token not in the vocabulary"));
    }
    // The first (best-ranked) occurrence of a pair wins, as in `tokenizers`.
    tok.merges_.try_emplace(PairKey(l->second, r->second), Merge{static_cast<int32_t>(rank), m->second});
  }
  return tok;
}

void BpeTokenizer::EncodeLongPiece(absl::string_view piece, std::vector<int32_t>& out) const {
  // Symbols in a linked list; a min-heap of candidate merges ordered by (rank, left position), where entries made
  // stale by earlier merges are skipped when popped. O(n log n), the same order as the quadratic scan below.
  const int n = static_cast<int>(piece.size());
  std::vector<int32_t> ids(n);
  std::vector<int> prev(n), next(n);
  for (int i = 0; i < n; ++i) {
    ids[i] = byte_ids_[static_cast<unsigned char>(piece[i])];
    prev[i] = i - 1;
    next[i] = i + 1 < n ? i + 1 : -1;
  }
  struct Candidate {
    int32_t rank;
    int left;
    int right;
    int32_t left_id;
    int32_t right_id;
    int32_t merged_id;
    bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : left > o.left; }
  };
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<Candidate>> heap;
  const auto push = [&](int left) {
    if (left < 0 || next[left] < 0) return;
    const int right = next[left];
    const auto it = merges_.find(PairKey(ids[left], ids[right]));
    if (it != merges_.end()) heap.push({it->second.rank, left, right, ids[left], ids[right], it->second.merged_id});
  };
  for (int i = 0; i + 1 < n; ++i) push(i);
  std::vector<bool> alive(n, true);
  while (!heap.empty()) {
    const Candidate c = heap.top();
    heap.pop();
    if (!alive[c.left] || !alive[c.right] || next[c.left] != c.right || ids[c.left] != c.left_id ||
        ids[c.right] != c.right_id) {
      continue;  // stale
    }
    ids[c.left] = c.merged_id;
    alive[c.right] = false;
    next[c.left] = next[c.right];
    if (next[c.right] >= 0) prev[next[c.right]] = c.left;
    push(prev[c.left]);
    push(c.left);
  }
  for (int i = 0; i >= 0; i = next[i]) out.push_back(ids[i]);
}

void BpeTokenizer::EncodePiece(absl::string_view piece, std::vector<int32_t>& out) const {
  if (piece.size() > 64) {
    EncodeLongPiece(piece, out);
    return;
  }
  std::vector<int32_t> symbols;
  symbols.reserve(piece.size());
  for (const char c : piece) symbols.push_back(byte_ids_[static_cast<unsigned char>(c)]);
  while (symbols.size() > 1) {
    int32_t best_rank = std::numeric_limits<int32_t>::max();
    size_t best_pos = 0;
    int32_t best_id = 0;
    for (size_t i = 0; i + 1 < symbols.size(); ++i) {
      const auto it = merges_.find(PairKey(symbols[i], symbols[i + 1]));
      if (it != merges_.end() && it->second.rank < best_rank) {
        best_rank = it->second.rank;
        best_pos = i;
        best_id = it->second.merged_id;
      }
    }
    if (best_rank == std::numeric_limits<int32_t>::max()) break;
    symbols[best_pos] = best_id;
    symbols.erase(symbols.begin() + best_pos + 1);
  }
  out.insert(out.end(), symbols.begin(), symbols.end());
}

void BpeTokenizer::EncodeOrdinary(absl::string_view text, std::vector<int32_t>& out) const {
  // Pieces repeat a lot in real text: remember the ids of short ones for this call.
  absl::flat_hash_map<std::string, std::pair<size_t, size_t>> cache;  // piece -> (start, count) in `out`
  ForEachPreToken(text, [&](absl::string_view piece) {
    if (piece.size() > 32) {
      EncodePiece(piece, out);
      return;
    }
    const auto it = cache.find(piece);
    if (it != cache.end()) {
      const auto [start, count] = it->second;
      for (size_t i = 0; i < count; ++i) out.push_back(out[start + i]);
      return;
    }
    const size_t start = out.size();
    EncodePiece(piece, out);
    if (cache.size() < (1u << 20)) cache.emplace(std::string(piece), std::make_pair(start, out.size() - start));
  });
}

void BpeTokenizer::EncodeAppend(absl::string_view text, std::vector<int32_t>& out) const {
  while (!text.empty()) {
    // The leftmost added token, the longest one at that position.
    size_t best_pos = absl::string_view::npos;
    const BpeAddedToken* best = nullptr;
    for (const BpeAddedToken& added : added_tokens_) {  // longest first, so ties keep the longest
      const size_t pos = text.find(added.content);
      if (pos < best_pos) best_pos = pos, best = &added;
    }
    if (best == nullptr) {
      EncodeOrdinary(text, out);
      return;
    }
    EncodeOrdinary(text.substr(0, best_pos), out);
    out.push_back(best->id);
    text.remove_prefix(best_pos + best->content.size());
  }
}

std::vector<int32_t> BpeTokenizer::Encode(absl::string_view text) const {
  std::vector<int32_t> out;
  out.reserve(text.size() / 3 + 1);
  EncodeAppend(text, out);
  return out;
}

absl::StatusOr<std::string> BpeTokenizer::TokenBytes(int32_t id) const {
  if (id < 0 || id >= vocab_size() || !has_token_[id]) {
    return absl::InvalidArgumentError(absl::StrCat("token id ", id, " is not in the vocabulary (size ",
                                                   vocab_size(), ") of tokenizer ", source_));
  }
  return token_bytes_[id];
}

absl::StatusOr<std::string> BpeTokenizer::Decode(absl::Span<const int32_t> ids) const {
  std::string text;
  for (size_t i = 0; i < ids.size(); ++i) {
    const int32_t id = ids[i];
    if (id < 0 || id >= vocab_size() || !has_token_[id]) {
      return absl::InvalidArgumentError(absl::StrCat("token ", i, " is id ", id, ", not in the vocabulary (size ",
                                                     vocab_size(), ") of tokenizer ", source_));
    }
    text += token_bytes_[id];
  }
  return text;
}

int32_t BpeTokenizer::AddedTokenId(absl::string_view content) const {
  for (const BpeAddedToken& added : added_tokens_) {
    if (added.content == content) return added.id;
  }
  return -1;
}

}  // namespace kachi
