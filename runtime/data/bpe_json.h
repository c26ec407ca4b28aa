// A small, complete JSON reader for tokenizer files (tokenizer.json, vocab.json): objects, arrays, strings (all
// escapes, \u surrogate pairs decoded to UTF-8), numbers, true, false and null.
#ifndef KACHI_RUNTIME_DATA_BPE_JSON_H_
#define KACHI_RUNTIME_DATA_BPE_JSON_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace kachi {

// One parsed JSON value.
struct BpeJson {
  enum class Kind { kNull, kBool, kNumber, kString, kArray, kObject };
  Kind kind = Kind::kNull;
  bool boolean = false;                                 // kBool
  double number = 0;                                    // kNumber
  std::string text;                                     // kString (decoded)
  std::vector<BpeJson> elements;                        // kArray
  std::vector<std::pair<std::string, BpeJson>> members;  // kObject, in file order

  // The member named `key` of an object (the first one), or nullptr (also for a non-object).
  const BpeJson* Find(absl::string_view key) const;
};

// Parses `text` as exactly one JSON value with optional surrounding whitespace; errors name the byte offset.
absl::StatusOr<BpeJson> ParseBpeJson(absl::string_view text);

}  // namespace kachi

#endif  // KACHI_RUNTIME_DATA_BPE_JSON_H_
