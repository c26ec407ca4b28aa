// Loading a byte-level BPE tokenizer's files: Hugging Face tokenizer.json (model.type "BPE", vocab, merges as
// "a b" strings or ["a", "b"] pairs, added_tokens) or GPT-2's original vocab.json + merges.txt (where a vocabulary
// entry spelled <|...|>, such as <|endoftext|>, is taken as a special token). Only what byte-level GPT-2 BPE uses is
// accepted; other settings (a normalizer, add_prefix_space, subword prefixes, dropout) are refused by name.
#ifndef KACHI_RUNTIME_DATA_BPE_FILES_H_
#define KACHI_RUNTIME_DATA_BPE_FILES_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace kachi {

// A token matched verbatim in the text before BPE (e.g. <|endoftext|>).
struct BpeAddedToken {
  std::string content;
  int id = 0;
  bool special = true;
};

// The contents of a tokenizer's files, not yet indexed.
struct BpeFiles {
  // Vocabulary entries (byte-level unicode spelling, as in the files) and their ids.
  std::vector<std::pair<std::string, int>> vocab;
  // Merges, best (rank 0) first.
  std::vector<std::pair<std::string, std::string>> merges;
  // Added tokens (from tokenizer.json's added_tokens, or the <|...|> entries of vocab.json).
  std::vector<BpeAddedToken> added_tokens;
  // Where they came from (for messages).
  std::string source;
};

// Reads `path`: a tokenizer.json file, or a directory holding tokenizer.json or vocab.json + merges.txt (tried in
// that order). Errors name the file and the field.
absl::StatusOr<BpeFiles> LoadBpeFiles(const std::string& path);

}  // namespace kachi

#endif  // KACHI_RUNTIME_DATA_BPE_FILES_H_
