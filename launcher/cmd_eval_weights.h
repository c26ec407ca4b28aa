// Weights for inference commands (`kachi eval`, `kachi sample`): a model built from whatever the user points at --
// a Hugging Face directory (config.json gives the shape), a safetensors file with kachi.* shape metadata (written by
// `kachi train` / `kachi ckpt export`), or a kachi checkpoint directory (its newest sound step).
#ifndef KACHI_LAUNCHER_CMD_EVAL_WEIGHTS_H_
#define KACHI_LAUNCHER_CMD_EVAL_WEIGHTS_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "runtime/model/gpt_model.h"

namespace kachi {

// A tp = 1 fp32 model on the CPU ops holding the weights at `path`. Errors are one line starting with `path`: it
// does not exist, the shape cannot be told (no config.json, no kachi.* metadata), a tensor is missing or has
// another shape (naming the tensor and both shapes).
absl::StatusOr<std::unique_ptr<GptModel>> LoadInferenceModel(const std::string& path);

}  // namespace kachi

#endif  // KACHI_LAUNCHER_CMD_EVAL_WEIGHTS_H_
