// The JSON reader for tokenizer files (see bpe_json.h): recursive descent over the input.
#include "runtime/data/bpe_json.h"

#include <cctype>
#include <cstdlib>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "runtime/data/bpe_unicode.h"

namespace kachi {
namespace {

class Parser {
 public:
  explicit Parser(absl::string_view text) : text_(text) {}

  absl::StatusOr<BpeJson> ParseDocument() {
    BpeJson value;
    if (absl::Status s = ParseValue(value, 0); !s.ok()) return s;
    SkipSpace();
    if (pos_ != text_.size()) return Error("trailing characters after the JSON value");
    return value;
  }

 private:
  absl::Status Error(absl::string_view what) const {
    return absl::InvalidArgumentError(absl::StrCat("JSON at byte ", pos_, ": ", what));
  }
  void SkipSpace() {
    while (pos_ < text_.size() &&
           (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\n' || text_[pos_] == '\r')) {
      ++pos_;
    }
  }
  bool Consume(absl::string_view word) {
    if (text_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }

  absl::Status ParseValue(BpeJson& out, int depth) {
    if (depth > 512) return Error("nesting deeper than 512");
    SkipSpace();
    if (pos_ >= text_.size()) return Error("unexpected end of input, expected a value");
    const char c = text_[pos_];
    if (c == '{') return ParseObject(out, depth);
    if (c == '[') return ParseArray(out, depth);
    if (c == '"') {
      out.kind = BpeJson::Kind::kString;
      return ParseString(out.text);
    }
    if (Consume("true")) {
      out.kind = BpeJson::Kind::kBool, out.boolean = true;
      return absl::OkStatus();
    }
    if (Consume("false")) {
      out.kind = BpeJson::Kind::kBool, out.boolean = false;
      return absl::OkStatus();
    }
    if (Consume("null")) {
      out.kind = BpeJson::Kind::kNull;
      return absl::OkStatus();
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
      size_t end = pos_ + 1;
      while (end < text_.size() && (std::isdigit(static_cast<unsigned char>(text_[end])) || text_[end] == '.' ||
                                    text_[end] == 'e' || text_[end] == 'E' || text_[end] == '+' ||
                                    text_[end] == '-')) {
        ++end;
      }
      const std::string number(text_.substr(pos_, end - pos_));
      char* parsed_end = nullptr;
      out.kind = BpeJson::Kind::kNumber;
      out.number = std::strtod(number.c_str(), &parsed_end);
      if (parsed_end != number.c_str() + number.size()) return Error(absl::StrCat("malformed number ", number));
      pos_ = end;
      return absl::OkStatus();
    }
    return Error(absl::StrCat("unexpected character '", std::string(1, c), "', expected a value"));
  }

  absl::Status ParseObject(BpeJson& out, int depth) {
    out.kind = BpeJson::Kind::kObject;
    ++pos_;
    SkipSpace();
    if (Consume("}")) return absl::OkStatus();
    while (true) {
      SkipSpace();
      if (pos_ >= text_.size() || text_[pos_] != '"') return Error("expected a string key");
      std::string key;
      if (absl::Status s = ParseString(key); !s.ok()) return s;
      SkipSpace();
      if (!Consume(":")) return Error("expected ':' after an object key");
      BpeJson value;
      if (absl::Status s = ParseValue(value, depth + 1); !s.ok()) return s;
      out.members.emplace_back(std::move(key), std::move(value));
      SkipSpace();
      if (Consume(",")) continue;
      if (Consume("}")) return absl::OkStatus();
      return Error("expected ',' or '}' in an object");
    }
  }

  absl::Status ParseArray(BpeJson& out, int depth) {
    out.kind = BpeJson::Kind::kArray;
    ++pos_;
    SkipSpace();
    if (Consume("]")) return absl::OkStatus();
    while (true) {
      BpeJson value;
      if (absl::Status s = ParseValue(value, depth + 1); !s.ok()) return s;
      out.elements.push_back(std::move(value));
      SkipSpace();
      if (Consume(",")) continue;
      if (Consume("]")) return absl::OkStatus();
      return Error("expected ',' or ']' in an array");
    }
  }

  absl::Status ParseHex4(uint32_t& value) {
    if (pos_ + 4 > text_.size()) return Error("truncated \\u escape");
    value = 0;
    for (int i = 0; i < 4; ++i) {
      const char h = text_[pos_++];
      value <<= 4;
      if (h >= '0' && h <= '9') value |= h - '0';
      else if (h >= 'a' && h <= 'f') value |= h - 'a' + 10;
      else if (h >= 'A' && h <= 'F') value |= h - 'A' + 10;
      else return Error("bad hex digit in \\u escape");
    }
    return absl::OkStatus();
  }

  absl::Status ParseString(std::string& out) {
    ++pos_;  // opening quote
    while (true) {
      if (pos_ >= text_.size()) return Error("unterminated string");
      const char c = text_[pos_++];
      if (c == '"') return absl::OkStatus();
      if (c != '\\') {
        out.push_back(c);
        continue;
      }
      if (pos_ >= text_.size()) return Error("unterminated escape");
      const char e = text_[pos_++];
      switch (e) {
        case '"': out.push_back('"'); break;
        case '\\': out.push_back('\\'); break;
        case '/': out.push_back('/'); break;
        case 'b': out.push_back('\b'); break;
        case 'f': out.push_back('\f'); break;
        case 'n': out.push_back('\n'); break;
        case 'r': out.push_back('\r'); break;
        case 't': out.push_back('\t'); break;
        case 'u': {
          uint32_t cp = 0;
          if (absl::Status s = ParseHex4(cp); !s.ok()) return s;
          if (cp >= 0xD800 && cp <= 0xDBFF && text_.substr(pos_, 2) == "\\u") {
            pos_ += 2;
            uint32_t low = 0;
            if (absl::Status s = ParseHex4(low); !s.ok()) return s;
            if (low < 0xDC00 || low > 0xDFFF) return Error("high surrogate without a low surrogate");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          } else if (cp >= 0xD800 && cp <= 0xDFFF) {
            return Error("unpaired surrogate in \\u escape");
          }
          AppendUtf8(cp, out);
          break;
        }
        default:
          return Error(absl::StrCat("unknown escape \\", std::string(1, e)));
      }
    }
  }

  absl::string_view text_;
  size_t pos_ = 0;
};

}  // namespace

const BpeJson* BpeJson::Find(absl::string_view key) const {
  for (const auto& [name, value] : members) {
    if (name == key) return &value;
  }
  return nullptr;
}

absl::StatusOr<BpeJson> ParseBpeJson(absl::string_view text) { return Parser(text).ParseDocument(); }

}  // namespace kachi
