// Loading given weights for `kachi eval` and `kachi sample` (cmd_eval_weights.h).
#include "launcher/cmd_eval_weights.h"

#include <filesystem>
#include <optional>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "kernels/base/status_macros.h"
#include "runtime/ckpt/checkpoint_reader.h"
#include "runtime/ckpt/export.h"
#include "runtime/ckpt/manifest.h"
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
  KACHI_ASSIGN_OR_RETURN(std::optional<HfGpt2Config> config, ReadHfGpt2ConfigAt(path));
  if (config.has_value()) return ShapeOfHfConfig(*config);
  KACHI_ASSIGN_OR_RETURN(SafetensorsFile file, ReadHfWeights(path));
  absl::StatusOr<GptShape> shape = ShapeFromMetadata(file.metadata());
  if (!shape.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": the model shape is unknown (no config.json beside the "
                                                   "weights and no kachi.* metadata: ", shape.status().message(), ")"));
  }
  return shape;
}

// Loads `weights` (a file or HF directory) into a fresh model.
absl::StatusOr<std::unique_ptr<GptModel>> LoadFromWeights(const std::string& weights) {
  KACHI_ASSIGN_OR_RETURN(GptShape shape, ShapeOfWeights(weights));
  if (absl::Status st = ValidateShape(shape, 1); !st.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(weights, ": ", st.message()));
  }
  auto model = std::make_unique<GptModel>(shape, nullptr);
  KACHI_RETURN_IF_ERROR(LoadHfGpt2(weights, model->layout(), HfGpt2Options{}, model->params()));
  return model;
}

}  // namespace

absl::StatusOr<std::unique_ptr<GptModel>> LoadInferenceModel(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return absl::NotFoundError(absl::StrCat(path, ": no such file or directory (weights)"));
  if (!IsCheckpointDirectory(path)) return LoadFromWeights(path);
  // A checkpoint: its newest sound step read straight into a one-rank model (the reader reshards to tp = 1).
  absl::StatusOr<std::string> step = ckpt::ResolveLoadableStep(path);
  if (!step.ok()) return absl::Status(step.status().code(), absl::StrCat(path, ": ", step.status().message()));
  KACHI_ASSIGN_OR_RETURN(ckpt::CheckpointReader reader, ckpt::CheckpointReader::Open(*step));
  const GptShape shape = ckpt::ShapeFromProto(reader.manifest().shape());
  if (absl::Status st = ValidateShape(shape, 1); !st.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(*step, ": ", st.message()));
  }
  auto model = std::make_unique<GptModel>(shape, nullptr);
  KACHI_RETURN_IF_ERROR(reader.LoadParameters(model->layout(), model->params()));
  return model;
}

}  // namespace kachi
