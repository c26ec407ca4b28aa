// The safetensors header's JSON reader and string quoting (see header_json.h): a recursive-descent parser with a
// nesting limit, so a hostile header cannot exhaust the stack.
#include "runtime/io/header_json.h"

#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "kernels/base/status_macros.h"

namespace kachi {
namespace {

constexpr int kMaxDepth = 16;

class Parser {
 public:
  explicit Parser(absl::string_view text) : text_(text) {}

  absl::StatusOr<JsonValue> ParseDocument() {
    absl::StatusOr<JsonValue> value = ParseValue(0);
    if (!value.ok()) return value;
    SkipWhitespace();
    if (pos_ != text_.size()) return Error("end of the header after the top-level value");
    return value;
  }

 private:
  // An error at the current position: what was expected versus what is there.
  absl::Status Error(absl::string_view expected) const {
    std::string found = pos_ < text_.size() ? absl::StrCat("'", text_.substr(pos_, 1), "'") : "end of input";
    if (pos_ < text_.size() && static_cast<unsigned char>(text_[pos_]) < 0x20) {
      found = absl::StrFormat("control byte 0x%02x", static_cast<unsigned char>(text_[pos_]));
    }
    return absl::InvalidArgumentError(
        absl::StrCat("JSON header: expected ", expected, " at byte ", pos_, ", found ", found));
  }

  void SkipWhitespace() {
    while (pos_ < text_.size() &&
           (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\n' || text_[pos_] == '\r')) {
      ++pos_;
    }
  }

  bool Consume(char c) {
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }

  absl::StatusOr<JsonValue> ParseValue(int depth) {
    if (depth > kMaxDepth) return Error(absl::StrCat("at most ", kMaxDepth, " levels of nesting"));
    SkipWhitespace();
    if (pos_ >= text_.size()) return Error("a value");
    const char c = text_[pos_];
    JsonValue value;
    if (c == '{') {
      value.kind = JsonValue::Kind::kObject;
      KACHI_RETURN_IF_ERROR(ParseObject(depth, value));
    } else if (c == '[') {
      value.kind = JsonValue::Kind::kArray;
      KACHI_RETURN_IF_ERROR(ParseArray(depth, value));
    } else if (c == '"') {
      value.kind = JsonValue::Kind::kString;
      KACHI_RETURN_IF_ERROR(ParseString(value.text));
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      value.kind = JsonValue::Kind::kInteger;
      KACHI_RETURN_IF_ERROR(ParseInteger(value.integer));
    } else {
      return Error("an object, array, string or integer (the safetensors header grammar)");
    }
    return value;
  }

  absl::Status ParseObject(int depth, JsonValue& object) {
    ++pos_;  // '{'
    SkipWhitespace();
    if (Consume('}')) return absl::OkStatus();
    while (true) {
      SkipWhitespace();
      if (pos_ >= text_.size() || text_[pos_] != '"') return Error("a string key");
      const size_t key_pos = pos_;
      std::string key;
      KACHI_RETURN_IF_ERROR(ParseString(key));
      if (object.Find(key) != nullptr) {
        return absl::InvalidArgumentError(
            absl::StrCat("JSON header: duplicate key ", JsonQuote(key), " at byte ", key_pos));
      }
      SkipWhitespace();
      if (!Consume(':')) return Error("':' after an object key");
      absl::StatusOr<JsonValue> member = ParseValue(depth + 1);
      if (!member.ok()) return member.status();
      object.members.emplace_back(std::move(key), *std::move(member));
      SkipWhitespace();
      if (Consume('}')) return absl::OkStatus();
      if (!Consume(',')) return Error("',' or '}' in an object");
    }
  }

  absl::Status ParseArray(int depth, JsonValue& array) {
    ++pos_;  // '['
    SkipWhitespace();
    if (Consume(']')) return absl::OkStatus();
    while (true) {
      absl::StatusOr<JsonValue> element = ParseValue(depth + 1);
      if (!element.ok()) return element.status();
      array.elements.push_back(*std::move(element));
      SkipWhitespace();
      if (Consume(']')) return absl::OkStatus();
      if (!Consume(',')) return Error("',' or ']' in an array");
    }
  }

  absl::Status ParseInteger(int64_t& out) {
    const bool negative = Consume('-');
    if (pos_ >= text_.size() || text_[pos_] < '0' || text_[pos_] > '9') return Error("a digit");
    if (text_[pos_] == '0' && pos_ + 1 < text_.size() && text_[pos_ + 1] >= '0' && text_[pos_ + 1] <= '9') {
      return Error("no leading zeros in an integer");
    }
    uint64_t magnitude = 0;
    const uint64_t limit = negative ? static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) + 1
                                    : static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
    while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') {
      const uint64_t digit = static_cast<uint64_t>(text_[pos_] - '0');
      if (magnitude > (limit - digit) / 10) return Error("an integer that fits in 64 bits");
      magnitude = magnitude * 10 + digit;
      ++pos_;
    }
    if (pos_ < text_.size() && (text_[pos_] == '.' || text_[pos_] == 'e' || text_[pos_] == 'E')) {
      return Error("an integer (fractions and exponents are not part of the safetensors header)");
    }
    out = negative ? static_cast<int64_t>(0 - magnitude) : static_cast<int64_t>(magnitude);
    return absl::OkStatus();
  }

  // Four hex digits of a \u escape.
  absl::Status ParseHex4(uint32_t& out) {
    out = 0;
    for (int i = 0; i < 4; ++i, ++pos_) {
      if (pos_ >= text_.size()) return Error("four hex digits after \\u");
      const char c = text_[pos_];
      uint32_t digit;
      if (c >= '0' && c <= '9') {
        digit = c - '0';
      } else if (c >= 'a' && c <= 'f') {
        digit = c - 'a' + 10;
      } else if (c >= 'A' && c <= 'F') {
        digit = c - 'A' + 10;
      } else {
        return Error("four hex digits after \\u");
      }
      out = out * 16 + digit;
    }
    return absl::OkStatus();
  }

  static void AppendUtf8(uint32_t code_point, std::string& out) {
    if (code_point < 0x80) {
      out += static_cast<char>(code_point);
    } else if (code_point < 0x800) {
      out += static_cast<char>(0xC0 | (code_point >> 6));
      out += static_cast<char>(0x80 | (code_point & 0x3F));
    } else if (code_point < 0x10000) {
      out += static_cast<char>(0xE0 | (code_point >> 12));
      out += static_cast<char>(0x80 | ((code_point >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (code_point & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (code_point >> 18));
      out += static_cast<char>(0x80 | ((code_point >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((code_point >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (code_point & 0x3F));
    }
  }

  absl::Status ParseEscape(std::string& out) {
    if (pos_ >= text_.size()) return Error("an escape character after '\\'");
    const char c = text_[pos_++];
    switch (c) {
      case '"':
        out += '"';
        return absl::OkStatus();
      case '\\':
        out += '\\';
        return absl::OkStatus();
      case '/':
        out += '/';
        return absl::OkStatus();
      case 'b':
        out += '\b';
        return absl::OkStatus();
      case 'f':
        out += '\f';
        return absl::OkStatus();
      case 'n':
        out += '\n';
        return absl::OkStatus();
      case 'r':
        out += '\r';
        return absl::OkStatus();
      case 't':
        out += '\t';
        return absl::OkStatus();
      case 'u':
        break;
      default:
        --pos_;
        return Error("one of \" \\ / b f n r t u after '\\'");
    }
    uint32_t code_point;
    KACHI_RETURN_IF_ERROR(ParseHex4(code_point));
    if (code_point >= 0xDC00 && code_point <= 0xDFFF) return Error("a high surrogate before a low surrogate");
    if (code_point >= 0xD800 && code_point <= 0xDBFF) {
      if (!Consume('\\') || !Consume('u')) return Error("a \\u low surrogate after a high surrogate");
      uint32_t low;
      KACHI_RETURN_IF_ERROR(ParseHex4(low));
      if (low < 0xDC00 || low > 0xDFFF) return Error("a low surrogate (\\uDC00-\\uDFFF)");
      code_point = 0x10000 + ((code_point - 0xD800) << 10) + (low - 0xDC00);
    }
    AppendUtf8(code_point, out);
    return absl::OkStatus();
  }

  absl::Status ParseString(std::string& out) {
    ++pos_;  // opening quote
    while (true) {
      if (pos_ >= text_.size()) return Error("a closing '\"'");
      const char c = text_[pos_];
      if (c == '"') {
        ++pos_;
        return absl::OkStatus();
      }
      if (static_cast<unsigned char>(c) < 0x20) return Error("an escaped control character inside a string");
      ++pos_;
      if (c == '\\') {
        KACHI_RETURN_IF_ERROR(ParseEscape(out));
      } else {
        out += c;
      }
    }
  }

  absl::string_view text_;
  size_t pos_ = 0;
};

}  // namespace

const JsonValue* JsonValue::Find(absl::string_view key) const {
  for (const auto& [name, value] : members) {
    if (name == key) return &value;
  }
  return nullptr;
}

absl::string_view JsonKindName(JsonValue::Kind kind) {
  switch (kind) {
    case JsonValue::Kind::kObject:
      return "object";
    case JsonValue::Kind::kArray:
      return "array";
    case JsonValue::Kind::kString:
      return "string";
    case JsonValue::Kind::kInteger:
      return "integer";
  }
  return "?";
}

absl::StatusOr<JsonValue> ParseHeaderJson(absl::string_view text) { return Parser(text).ParseDocument(); }

std::string JsonQuote(absl::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += absl::StrFormat("\\u%04x", static_cast<unsigned char>(c));
        } else {
          out += c;
        }
    }
  }
  out += '"';
  return out;
}

}  // namespace kachi
