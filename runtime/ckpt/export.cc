// Checkpoint -> Hugging Face GPT-2 safetensors (see export.h).
#include "runtime/ckpt/export.h"

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "kernels/base/status_macros.h"
#include "runtime/ckpt/checkpoint_paths.h"
#include "runtime/ckpt/checkpoint_reader.h"
#include "runtime/ckpt/manifest.h"
#include "runtime/ckpt/verify.h"
#include "runtime/io/hf_gpt2.h"

namespace kachi::ckpt {

absl::StatusOr<std::string> ResolveLoadableStep(const std::string& path, std::vector<std::string>* skipped) {
  std::error_code error;
  if (!std::filesystem::exists(path + "/" + kManifestFile, error)) return FindLoadableCheckpoint(path, skipped);
  KACHI_ASSIGN_OR_RETURN(Manifest manifest, ReadManifest(path));
  if (std::vector<std::string> problems = VerifyShards(path, manifest); !problems.empty()) {
    return absl::DataLossError(absl::StrCat("checkpoint '", path, "' is damaged: ", absl::StrJoin(problems, "; ")));
  }
  return path;
}

absl::StatusOr<std::string> ExportCheckpointSafetensors(const std::string& path, const std::string& out,
                                                        std::vector<std::string>* skipped) {
  KACHI_ASSIGN_OR_RETURN(const std::string step_dir, ResolveLoadableStep(path, skipped));
  KACHI_ASSIGN_OR_RETURN(CheckpointReader reader, CheckpointReader::Open(step_dir));
  const GptShape shape = ShapeFromProto(reader.manifest().shape());
  const ParameterLayout whole(shape, 0, 1);
  std::vector<float> params(static_cast<size_t>(whole.total_size()));
  KACHI_RETURN_IF_ERROR(reader.LoadParameters(whole, params.data()));
  std::map<std::string, std::string> metadata = ShapeMetadata(shape);
  metadata["kachi.step"] = absl::StrCat(reader.manifest().step());
  KACHI_RETURN_IF_ERROR(ExportHfGpt2(whole, params.data(), nullptr, out, HfGpt2Options{}, metadata));
  return step_dir;
}

}  // namespace kachi::ckpt
