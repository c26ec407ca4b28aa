// Hugging Face model directories: config.json (the GPT-2 fields kachi uses) and the weights beside it
// (model.safetensors, or model.safetensors.index.json naming shards). Read for `model.init_from`, written by
// ExportHfGpt2 when its target is a directory, so that transformers' `from_pretrained(DIR)` opens it.
#ifndef KACHI_RUNTIME_IO_HF_DIR_H_
#define KACHI_RUNTIME_IO_HF_DIR_H_

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "runtime/io/safetensors_file.h"
#include "runtime/model/gpt_shape.h"

namespace kachi {

// The fields of a GPT-2 config.json that fix kachi's model.
struct HfGpt2Config {
  int64_t n_layer = 0;
  int64_t n_head = 0;
  int64_t n_embd = 0;
  int64_t vocab_size = 0;
  int64_t n_positions = 0;
  double layer_norm_epsilon = 1e-5;
  std::string activation_function = "gelu_new";
};

// Parses a config.json. Errors: not a JSON object, a missing or non-integer size field, model_type other than
// "gpt2", an activation kachi does not compute (it has tanh-GELU: "gelu_new" / "gelu_pytorch_tanh"), an epsilon
// other than 1e-5, or n_inner other than null / 4 x n_embd. Unknown fields are ignored.
absl::StatusOr<HfGpt2Config> ParseHfGpt2Config(absl::string_view json);

// The model shape a config describes (padded_vocab = vocab_size; ShapeFromConfig pads it).
GptShape ShapeOfHfConfig(const HfGpt2Config& config);

// config.json for `shape`, as GPT2Config.to_json_string writes the fields transformers needs to build
// GPT2LMHeadModel (architectures, model_type, sizes, gelu_new, eps 1e-5, tied embeddings, float32).
std::string HfGpt2ConfigJson(const GptShape& shape);

// True when `path` names a directory, or ends with '/' (a directory export to create).
bool IsDirectoryTarget(const std::string& path);

// `dir`/config.json parsed, or nullopt when `path` is a file or a directory without config.json.
absl::StatusOr<std::optional<HfGpt2Config>> ReadHfGpt2ConfigAt(const std::string& path);

// The weights at `path`: a safetensors file, or a directory holding model.safetensors or a sharded
// model.safetensors.index.json (every shard read, each tensor taken from the shard its weight_map names).
// Errors name the file and, for shards, the tensor.
absl::StatusOr<SafetensorsFile> ReadHfWeights(const std::string& path);

// The tensor-name prefix of a GPT-2 state dict: "" for Hub-style names ("wte.weight"), "transformer." for
// GPT2LMHeadModel.save_pretrained's; "" when neither is present (the import then names the missing tensor).
std::string DetectHfGpt2Prefix(const SafetensorsFile& file);

// When the file carries "lm_head.weight" besides `wte_name`, checks that it equals wte (kachi's head is tied);
// an untied head is refused, naming both tensors and the first differing element.
absl::Status CheckTiedLmHead(const SafetensorsFile& file, const std::string& wte_name);

}  // namespace kachi

#endif  // KACHI_RUNTIME_IO_HF_DIR_H_
