// Hugging Face model directories (see hf_dir.h).
#include "runtime/io/hf_dir.h"

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "kernels/base/status_macros.h"
#include "runtime/io/atomic_file.h"
#include "runtime/io/header_json.h"
#include "runtime/io/safetensors.h"

namespace kachi {
namespace {

// The top-level members of a JSON object as raw value text (strings keep their quotes; nested values whole).
// config.json holds floats, booleans and null, which the safetensors header reader rejects, so this scanner only
// splits the top level and leaves the values to the caller.
absl::StatusOr<std::map<std::string, std::string>> TopLevelMembers(absl::string_view text) {
  size_t i = 0;
  auto skip_ws = [&] { while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i; };
  auto error = [&](absl::string_view what) {
    return absl::InvalidArgumentError(absl::StrCat("config.json: ", what, " at byte ", i));
  };
  auto skip_string = [&]() -> bool {  // text[i] == '"'; leaves i after the closing quote
    for (++i; i < text.size(); ++i) {
      if (text[i] == '\\') { ++i; continue; }
      if (text[i] == '"') { ++i; return true; }
    }
    return false;
  };
  std::map<std::string, std::string> members;
  skip_ws();
  if (i >= text.size() || text[i] != '{') return error("expected a JSON object");
  ++i;
  skip_ws();
  if (i < text.size() && text[i] == '}') return members;
  while (true) {
    skip_ws();
    if (i >= text.size() || text[i] != '"') return error("expected a member name");
    const size_t key_start = i;
    if (!skip_string()) return error("unterminated string");
    absl::StatusOr<JsonValue> key = ParseHeaderJson(text.substr(key_start, i - key_start));
    if (!key.ok()) return error("bad member name");
    skip_ws();
    if (i >= text.size() || text[i] != ':') return error("expected ':'");
    ++i;
    skip_ws();
    const size_t value_start = i;
    int depth = 0;
    while (i < text.size()) {
      const char c = text[i];
      if (c == '"') {
        if (!skip_string()) return error("unterminated string");
        if (depth == 0) break;
        continue;
      }
      if (c == '{' || c == '[') ++depth;
      if (c == '}' || c == ']') {
        if (depth == 0) break;
        --depth;
        ++i;
        if (depth == 0) break;
        continue;
      }
      if (depth == 0 && c == ',') break;
      ++i;
    }
    std::string value(text.substr(value_start, i - value_start));
    while (!value.empty() && std::isspace(static_cast<unsigned char>(value.back()))) value.pop_back();
    if (value.empty()) return error("expected a value");
    members[key->text] = value;
    skip_ws();
    if (i >= text.size()) return error("unterminated object");
    if (text[i] == ',') { ++i; continue; }
    if (text[i] == '}') return members;
    return error("expected ',' or '}'");
  }
}

absl::StatusOr<int64_t> IntMember(const std::map<std::string, std::string>& members, const std::string& key) {
  auto it = members.find(key);
  int64_t value = 0;
  if (it == members.end()) return absl::InvalidArgumentError(absl::StrCat("config.json: \"", key, "\" is missing"));
  if (!absl::SimpleAtoi(it->second, &value) || value <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("config.json: \"", key, "\" = ", it->second, " is not a positive integer"));
  }
  return value;
}

// A string member without its quotes, or `fallback` when absent.
std::string StringMember(const std::map<std::string, std::string>& members, const std::string& key,
                         const std::string& fallback) {
  auto it = members.find(key);
  if (it == members.end()) return fallback;
  absl::StatusOr<JsonValue> value = ParseHeaderJson(it->second);
  if (!value.ok() || value->kind != JsonValue::Kind::kString) return it->second;  // reported as found
  return value->text;
}

}  // namespace

absl::StatusOr<HfGpt2Config> ParseHfGpt2Config(absl::string_view json) {
  absl::StatusOr<std::map<std::string, std::string>> members = TopLevelMembers(json);
  if (!members.ok()) return members.status();
  HfGpt2Config config;
  const std::string model_type = StringMember(*members, "model_type", "gpt2");
  if (model_type != "gpt2") {
    return absl::InvalidArgumentError(
        absl::StrCat("config.json: model_type \"", model_type, "\" is not \"gpt2\"; kachi trains GPT-2 models"));
  }
  for (auto [key, field] : {std::pair<const char*, int64_t*>{"n_layer", &config.n_layer}, {"n_head", &config.n_head},
                            {"n_embd", &config.n_embd}, {"vocab_size", &config.vocab_size},
                            {"n_positions", &config.n_positions}}) {
    absl::StatusOr<int64_t> value = IntMember(*members, key);
    if (!value.ok()) return value.status();
    *field = *value;
  }
  config.activation_function = StringMember(*members, "activation_function", "gelu_new");
  if (config.activation_function != "gelu_new" && config.activation_function != "gelu_pytorch_tanh") {
    return absl::InvalidArgumentError(absl::StrCat("config.json: activation_function \"", config.activation_function,
                                                   "\": kachi computes the tanh GELU (\"gelu_new\") only"));
  }
  if (auto it = members->find("layer_norm_epsilon"); it != members->end()) {
    if (!absl::SimpleAtod(it->second, &config.layer_norm_epsilon) ||
        std::fabs(config.layer_norm_epsilon - 1e-5) > 1e-12) {
      return absl::InvalidArgumentError(
          absl::StrCat("config.json: layer_norm_epsilon = ", it->second, ", kachi's LayerNorm uses 1e-05"));
    }
  }
  if (auto it = members->find("n_inner"); it != members->end() && it->second != "null") {
    int64_t inner = 0;
    if (!absl::SimpleAtoi(it->second, &inner) || inner != 4 * config.n_embd) {
      return absl::InvalidArgumentError(absl::StrCat("config.json: n_inner = ", it->second,
                                                     ", kachi's MLP is 4 x n_embd = ", 4 * config.n_embd));
    }
  }
  return config;
}

GptShape ShapeOfHfConfig(const HfGpt2Config& config) {
  // layers, heads, width, vocab_size, padded_vocab (no padding), context.
  return GptShape{config.n_layer, config.n_head, config.n_embd, config.vocab_size, config.vocab_size,
                  config.n_positions};
}

std::string HfGpt2ConfigJson(const GptShape& shape) {
  const int64_t last_token = shape.vocab_size - 1;
  return absl::StrCat(
      "{\n  \"activation_function\": \"gelu_new\",\n  \"architectures\": [\"GPT2LMHeadModel\"],\n",
      "  \"attn_pdrop\": 0.1,\n  \"bos_token_id\": ", last_token, ",\n  \"embd_pdrop\": 0.1,\n",
      "  \"eos_token_id\": ", last_token, ",\n  \"initializer_range\": 0.02,\n  \"layer_norm_epsilon\": 1e-05,\n",
      "  \"model_type\": \"gpt2\",\n  \"n_ctx\": ", shape.context, ",\n  \"n_embd\": ", shape.width,
      ",\n  \"n_head\": ", shape.heads, ",\n  \"n_inner\": null,\n  \"n_layer\": ", shape.layers,
      ",\n  \"n_positions\": ", shape.context, ",\n  \"resid_pdrop\": 0.1,\n",
      "  \"scale_attn_weights\": true,\n  \"summary_activation\": null,\n  \"summary_first_dropout\": 0.1,\n",
      "  \"summary_proj_to_labels\": true,\n  \"summary_type\": \"cls_index\",\n  \"summary_use_proj\": true,\n",
      "  \"tie_word_embeddings\": true,\n  \"torch_dtype\": \"float32\",\n  \"use_cache\": true,\n",
      "  \"vocab_size\": ", shape.vocab_size, "\n}\n");
}

bool IsDirectoryTarget(const std::string& path) {
  std::error_code error;
  return (!path.empty() && path.back() == '/') || std::filesystem::is_directory(path, error);
}

absl::StatusOr<std::optional<HfGpt2Config>> ReadHfGpt2ConfigAt(const std::string& path) {
  std::error_code error;
  if (!std::filesystem::is_directory(path, error)) return std::optional<HfGpt2Config>();
  const std::string config_path = path + "/config.json";
  if (!std::filesystem::exists(config_path, error)) return std::optional<HfGpt2Config>();
  absl::StatusOr<std::string> text = ReadWholeFile(config_path);
  if (!text.ok()) return text.status();
  absl::StatusOr<HfGpt2Config> config = ParseHfGpt2Config(*text);
  if (!config.ok()) return absl::Status(config.status().code(), absl::StrCat(path, "/", config.status().message()));
  return std::optional<HfGpt2Config>(*config);
}

absl::StatusOr<SafetensorsFile> ReadHfWeights(const std::string& path) {
  std::error_code error;
  if (!std::filesystem::is_directory(path, error)) return ReadSafetensors(path);
  const std::string single = path + "/model.safetensors";
  if (std::filesystem::exists(single, error)) return ReadSafetensors(single);
  const std::string index_path = path + "/model.safetensors.index.json";
  if (!std::filesystem::exists(index_path, error)) {
    return absl::NotFoundError(absl::StrCat("directory '", path,
                                            "' holds neither model.safetensors nor model.safetensors.index.json"));
  }
  absl::StatusOr<std::string> text = ReadWholeFile(index_path);
  if (!text.ok()) return text.status();
  absl::StatusOr<std::map<std::string, std::string>> members = TopLevelMembers(*text);
  if (!members.ok() || members->count("weight_map") == 0) {
    return absl::InvalidArgumentError(absl::StrCat(index_path, ": no \"weight_map\" object"));
  }
  absl::StatusOr<JsonValue> map = ParseHeaderJson(members->at("weight_map"));
  if (!map.ok() || map->kind != JsonValue::Kind::kObject) {
    return absl::InvalidArgumentError(absl::StrCat(index_path, ": \"weight_map\" is not an object of strings"));
  }
  std::map<std::string, std::vector<std::string>> by_shard;  // shard file -> tensor names
  for (const auto& [name, shard] : map->members) {
    if (shard.kind != JsonValue::Kind::kString || shard.text.find('/') != std::string::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat(index_path, ": weight_map[\"", name, "\"] is not a shard file name in the directory"));
    }
    by_shard[shard.text].push_back(name);
  }
  SafetensorsFile merged;
  for (const auto& [shard, names] : by_shard) {
    absl::StatusOr<SafetensorsFile> file = ReadSafetensors(path + "/" + shard);
    if (!file.ok()) return file.status();
    for (const std::string& name : names) {
      const SafetensorsTensor* tensor = file->Find(name);
      if (tensor == nullptr) {
        return absl::NotFoundError(absl::StrCat(index_path, " puts tensor \"", name, "\" in ", shard,
                                                ", which does not hold it"));
      }
      KACHI_RETURN_IF_ERROR(merged.Add(name, tensor->dtype, tensor->shape, tensor->bytes));
    }
  }
  return merged;
}

std::string DetectHfGpt2Prefix(const SafetensorsFile& file) {
  if (file.Find("wte.weight") == nullptr && file.Find("transformer.wte.weight") != nullptr) return "transformer.";
  return "";
}

absl::Status CheckTiedLmHead(const SafetensorsFile& file, const std::string& wte_name) {
  const SafetensorsTensor* head = file.Find("lm_head.weight");
  const SafetensorsTensor* wte = file.Find(wte_name);
  if (head == nullptr || wte == nullptr) return absl::OkStatus();
  if (head->shape != wte->shape) {
    return absl::InvalidArgumentError(absl::StrCat("tensor \"lm_head.weight\" has shape ", ShapeString(head->shape),
                                                   ", \"", wte_name, "\" ", ShapeString(wte->shape),
                                                   ": kachi's LM head is tied to the token embedding"));
  }
  absl::StatusOr<std::vector<float>> a = file.Floats("lm_head.weight");
  absl::StatusOr<std::vector<float>> b = file.Floats(wte_name);
  if (!a.ok()) return a.status();
  if (!b.ok()) return b.status();
  for (size_t i = 0; i < a->size(); ++i) {
    if ((*a)[i] != (*b)[i]) {
      return absl::InvalidArgumentError(absl::StrCat("tensor \"lm_head.weight\" differs from \"", wte_name,
                                                     "\" at element ", i, " (", (*a)[i], " vs ", (*b)[i],
                                                     "): kachi's LM head is tied, an untied head cannot load"));
    }
  }
  return absl::OkStatus();
}

}  // namespace kachi
