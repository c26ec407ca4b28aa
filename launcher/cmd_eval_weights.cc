// Loading given weights for `kachi eval` and `kachi sample` (cmd_eval_weights.h).
#include "launcher/cmd_eval_weights.h"

#include <unistd.h>

#include <filesystem>
#include <optional>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "runtime/ckpt/export.h"
#include "runtime/io/hf_dir.h"
#include "runtime/io/hf_gpt2.h"
#include "runtime/io/safetensors.h"
#include "runtime/model/gpt_shape.h"

namespace kachi {
namespace {

namespace fs = std::filesystem;

// A directory with neither config.json nor model weights: taken as a kachi checkpoint directory.
bool IsCheckpointDirectory(const std::string& path) {
  std::error_code ec;
  if (!fs::is_directory(path, ec)) return false;
  const fs::path dir(path);
  return !fs::exists(dir / "config.json", ec) && !fs::exists(dir / "model.safetensors", ec) &&
         !fs::exists(dir / "model.safetensors.index.json", ec);
}

// The model shape of the weights at `path` (a file or an HF directory).
absl::StatusOr<GptShape> ShapeOfWeights(const std::string& path) {
  absl::StatusOr<std::optional<HfGpt2Config>> config = ReadHfGpt2ConfigAt(path);
  if (!config.ok()) return config.status();
  if (config->has_value()) return ShapeOfHfConfig(**config);
  absl::StatusOr<SafetensorsFile> file = ReadHfWeights(path);
  if (!file.ok()) return file.status();
  absl::StatusOr<GptShape> shape = ShapeFromMetadata(file->metadata());
  if (!shape.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": the model shape is unknown (no config.json beside the "
                                                   "weights and no kachi.* metadata: ", shape.status().message(), ")"));
  }
  return shape;
}

// Loads `weights` (a file or HF directory) into a fresh model.
absl::StatusOr<std::unique_ptr<GptModel>> LoadFromWeights(const std::string& weights) {
  absl::StatusOr<GptShape> shape = ShapeOfWeights(weights);
  if (!shape.ok()) return shape.status();
  if (absl::Status st = ValidateShape(*shape, 1); !st.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(weights, ": ", st.message()));
  }
  auto model = std::make_unique<GptModel>(*shape, nullptr);
  if (absl::Status st = LoadHfGpt2(weights, model->layout(), HfGpt2Options{}, model->params()); !st.ok()) return st;
  return model;
}

}  // namespace

absl::StatusOr<std::unique_ptr<GptModel>> LoadInferenceModel(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return absl::NotFoundError(absl::StrCat(path, ": no such file or directory (weights)"));
  if (!IsCheckpointDirectory(path)) return LoadFromWeights(path);
  // A checkpoint: exported to a private temporary file (the tools' own reshard to tp = 1), loaded, removed.
  const std::string temp = (fs::temp_directory_path(ec) /
                            absl::StrCat("kachi_eval_", ::getpid(), "_", reinterpret_cast<uintptr_t>(&path),
                                         ".safetensors")).string();
  absl::StatusOr<std::string> step = ckpt::ExportCheckpointSafetensors(path, temp);
  if (!step.ok()) {
    fs::remove(temp, ec);
    return absl::Status(step.status().code(), absl::StrCat(path, ": ", step.status().message()));
  }
  absl::StatusOr<std::unique_ptr<GptModel>> model = LoadFromWeights(temp);
  fs::remove(temp, ec);
  return model;
}

}  // namespace kachi
