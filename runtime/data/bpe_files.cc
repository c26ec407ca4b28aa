// Reading tokenizer.json or vocab.json + merges.txt (see bpe_files.h).
#include "runtime/data/bpe_files.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "runtime/data/bpe_json.h"

namespace kachi {
namespace {

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot open for reading"));
  std::ostringstream contents;
  contents << in.rdbuf();
  return std::move(contents).str();
}

absl::StatusOr<BpeJson> ReadJson(const std::string& path) {
  absl::StatusOr<std::string> text = ReadFile(path);
  if (!text.ok()) return text.status();
  absl::StatusOr<BpeJson> json = ParseBpeJson(*text);
  if (!json.ok()) return absl::InvalidArgumentError(absl::StrCat(path, ": ", json.status().message()));
  return json;
}

bool IsNullOrFalse(const BpeJson* value) {
  return value == nullptr || value->kind == BpeJson::Kind::kNull ||
         (value->kind == BpeJson::Kind::kBool && !value->boolean);
}

bool IsInteger(const BpeJson& value) {
  return value.kind == BpeJson::Kind::kNumber && value.number >= 0 && value.number < 2147483648.0 &&
         std::floor(value.number) == value.number;
}

absl::Status ReadVocabObject(const BpeJson& object, const std::string& where, BpeFiles& files) {
  if (object.kind != BpeJson::Kind::kObject) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": expected an object of token -> id"));
  }
  files.vocab.reserve(object.members.size());
  for (const auto& [token, id] : object.members) {
    if (!IsInteger(id)) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": id of token \"", token, "\" is not an integer >= 0"));
    }
    files.vocab.emplace_back(token, static_cast<int>(id.number));
  }
  return absl::OkStatus();
}

absl::Status AddMergeLine(absl::string_view line, const std::string& where, BpeFiles& files) {
  const size_t space = line.find(' ');
  if (space == absl::string_view::npos || space == 0 || space + 1 >= line.size() ||
      line.find(' ', space + 1) != absl::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": merge \"", line, "\" is not two tokens separated by one space"));
  }
  files.merges.emplace_back(std::string(line.substr(0, space)), std::string(line.substr(space + 1)));
  return absl::OkStatus();
}

absl::StatusOr<BpeFiles> LoadTokenizerJson(const std::string& path) {
  absl::StatusOr<BpeJson> json = ReadJson(path);
  if (!json.ok()) return json.status();
  BpeFiles files;
  files.source = path;
  const auto refuse = [&](absl::string_view what) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", what, " (kachi reads byte-level GPT-2 BPE only)"));
  };
  const BpeJson* model = json->Find("model");
  if (model == nullptr || model->kind != BpeJson::Kind::kObject) return refuse("no \"model\" object");
  const BpeJson* type = model->Find("type");
  if (type != nullptr && !(type->kind == BpeJson::Kind::kString && type->text == "BPE")) {
    return refuse("model.type is not \"BPE\"");
  }
  for (const char* field : {"continuing_subword_prefix", "end_of_word_suffix", "byte_fallback"}) {
    const BpeJson* value = model->Find(field);
    if (!IsNullOrFalse(value) && !(value->kind == BpeJson::Kind::kString && value->text.empty())) {
      return refuse(absl::StrCat("model.", field, " is set"));
    }
  }
  if (const BpeJson* dropout = model->Find("dropout");
      dropout != nullptr && dropout->kind == BpeJson::Kind::kNumber && dropout->number > 0) {
    return refuse("model.dropout is set");
  }
  if (!IsNullOrFalse(json->Find("normalizer"))) return refuse("a normalizer is set");
  if (const BpeJson* pre = json->Find("pre_tokenizer"); !IsNullOrFalse(pre)) {
    const BpeJson* pre_type = pre->Find("type");
    if (pre_type == nullptr || pre_type->text != "ByteLevel") return refuse("pre_tokenizer.type is not ByteLevel");
    if (!IsNullOrFalse(pre->Find("add_prefix_space"))) return refuse("pre_tokenizer.add_prefix_space is true");
    if (const BpeJson* use_regex = pre->Find("use_regex");
        use_regex != nullptr && use_regex->kind == BpeJson::Kind::kBool && !use_regex->boolean) {
      return refuse("pre_tokenizer.use_regex is false");
    }
  }
  const BpeJson* vocab = model->Find("vocab");
  if (vocab == nullptr) return refuse("no model.vocab");
  if (absl::Status s = ReadVocabObject(*vocab, absl::StrCat(path, ": model.vocab"), files); !s.ok()) return s;
  const BpeJson* merges = model->Find("merges");
  if (merges == nullptr || merges->kind != BpeJson::Kind::kArray) return refuse("no model.merges array");
  files.merges.reserve(merges->elements.size());
  for (const BpeJson& merge : merges->elements) {
    if (merge.kind == BpeJson::Kind::kString) {
      if (absl::Status s = AddMergeLine(merge.text, path, files); !s.ok()) return s;
    } else if (merge.kind == BpeJson::Kind::kArray && merge.elements.size() == 2 &&
               merge.elements[0].kind == BpeJson::Kind::kString &&
               merge.elements[1].kind == BpeJson::Kind::kString) {
      files.merges.emplace_back(merge.elements[0].text, merge.elements[1].text);
    } else {
      return refuse(absl::StrCat("model.merges[", files.merges.size(), "] is neither \"a b\" nor [\"a\", \"b\"]"));
    }
  }
  if (const BpeJson* added = json->Find("added_tokens"); added != nullptr && added->kind == BpeJson::Kind::kArray) {
    for (const BpeJson& entry : added->elements) {
      const BpeJson* id = entry.Find("id");
      const BpeJson* content = entry.Find("content");
      if (id == nullptr || !IsInteger(*id) || content == nullptr || content->kind != BpeJson::Kind::kString ||
          content->text.empty()) {
        return refuse("an added_tokens entry lacks an integer id or a non-empty content");
      }
      for (const char* field : {"lstrip", "rstrip", "single_word"}) {
        if (!IsNullOrFalse(entry.Find(field))) {
          return refuse(absl::StrCat("added token \"", content->text, "\" sets ", field));
        }
      }
      const BpeJson* special = entry.Find("special");
      files.added_tokens.push_back({content->text, static_cast<int>(id->number), !IsNullOrFalse(special)});
    }
  }
  return files;
}

absl::StatusOr<BpeFiles> LoadVocabAndMerges(const std::string& vocab_path, const std::string& merges_path) {
  absl::StatusOr<BpeJson> vocab = ReadJson(vocab_path);
  if (!vocab.ok()) return vocab.status();
  BpeFiles files;
  files.source = absl::StrCat(vocab_path, " + ", merges_path);
  if (absl::Status s = ReadVocabObject(*vocab, vocab_path, files); !s.ok()) return s;
  for (const auto& [token, id] : files.vocab) {
    if (token.size() > 4 && absl::StartsWith(token, "<|") && absl::EndsWith(token, "|>")) {
      files.added_tokens.push_back({token, id, true});
    }
  }
  absl::StatusOr<std::string> merges = ReadFile(merges_path);
  if (!merges.ok()) return merges.status();
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(*merges, '\n')) {
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || (line_number == 1 && absl::StartsWith(line, "#version"))) continue;
    if (absl::Status s = AddMergeLine(line, absl::StrCat(merges_path, ":", line_number), files); !s.ok()) return s;
  }
  return files;
}

}  // namespace

absl::StatusOr<BpeFiles> LoadBpeFiles(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code error;
  if (fs::is_regular_file(path, error)) return LoadTokenizerJson(path);
  if (!fs::is_directory(path, error)) {
    return absl::NotFoundError(absl::StrCat("tokenizer ", path, ": neither a tokenizer.json file nor a directory"));
  }
  const std::string json_path = path + "/tokenizer.json";
  if (fs::is_regular_file(json_path, error)) return LoadTokenizerJson(json_path);
  const std::string vocab_path = path + "/vocab.json";
  const std::string merges_path = path + "/merges.txt";
  if (fs::is_regular_file(vocab_path, error) && fs::is_regular_file(merges_path, error)) {
    return LoadVocabAndMerges(vocab_path, merges_path);
  }
  return absl::NotFoundError(
      absl::StrCat("tokenizer directory ", path, " holds neither tokenizer.json nor vocab.json + merges.txt"));
}

}  // namespace kachi
