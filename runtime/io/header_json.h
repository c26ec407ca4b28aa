// A small JSON reader and string quoting for the safetensors header grammar only: objects, strings (with every
// JSON escape, \u surrogate pairs decoded to UTF-8), arrays and integers. Numbers with a fraction or exponent,
// true, false and null are rejected: the safetensors header never holds them.
#ifndef KACHI_RUNTIME_IO_HEADER_JSON_H_
#define KACHI_RUNTIME_IO_HEADER_JSON_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace kachi {

// One parsed JSON value of the header grammar.
struct JsonValue {
  enum class Kind { kObject, kArray, kString, kInteger };
  Kind kind = Kind::kInteger;
  std::vector<std::pair<std::string, JsonValue>> members;  // kObject, in file order (keys are unique)
  std::vector<JsonValue> elements;                         // kArray
  std::string text;                                        // kString (decoded)
  int64_t integer = 0;                                     // kInteger

  // The member named `key` of an object, or nullptr.
  const JsonValue* Find(absl::string_view key) const;
};

// "object", "array", "string" or "integer".
absl::string_view JsonKindName(JsonValue::Kind kind);

// Parses `text` as exactly one JSON value, surrounded by optional whitespace. Errors name the byte offset and what
// was found versus expected; duplicate object keys are errors.
absl::StatusOr<JsonValue> ParseHeaderJson(absl::string_view text);

// `text` as a JSON string literal with its quotes (", \ and control characters escaped; other bytes as is).
std::string JsonQuote(absl::string_view text);

}  // namespace kachi

#endif  // KACHI_RUNTIME_IO_HEADER_JSON_H_
