// Exporting a checkpoint's model weights as a safetensors file with Hugging Face GPT-2 names and layout, on one
// process with no communication: the global tensors are assembled from the shards in memory (a reshard to
// tp = 1). The file loads back with `model.init_from` / LoadHfGpt2 at any tensor-parallel width.
#ifndef KACHI_RUNTIME_CKPT_EXPORT_H_
#define KACHI_RUNTIME_CKPT_EXPORT_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace kachi::ckpt {

// The step directory to read for `path`: `path` itself when it is a step directory (its shards verified first), else
// the newest loadable step of the checkpoint directory `path` (damaged ones are added to `skipped`, may be null).
absl::StatusOr<std::string> ResolveLoadableStep(const std::string& path, std::vector<std::string>* skipped = nullptr);

// Writes `out` (atomically) from the checkpoint at `path`: a step directory (verified first), or a checkpoint
// directory, whose newest loadable step is used (damaged ones are added to `skipped`, may be null). The file's
// metadata carries the model shape (kachi.*) and "kachi.step". Returns the step directory exported.
absl::StatusOr<std::string> ExportCheckpointSafetensors(const std::string& path, const std::string& out,
                                                        std::vector<std::string>* skipped = nullptr);

}  // namespace kachi::ckpt

#endif  // KACHI_RUNTIME_CKPT_EXPORT_H_
