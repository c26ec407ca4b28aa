// The checkpoint manifest (runtime/proto/checkpoint.proto) and its conversions: model shape, loader state, the
// per-tensor-parallel-rank tensor pieces of a ParameterLayout, and reading/writing the manifest file.
#ifndef KACHI_RUNTIME_CKPT_MANIFEST_H_
#define KACHI_RUNTIME_CKPT_MANIFEST_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "runtime/data/train_loader.h"
#include "runtime/model/gpt_shape.h"
#include "runtime/model/parameter_layout.h"
#include "runtime/proto/checkpoint.pb.h"

namespace kachi::ckpt {

// GptShape <-> ModelShape.
ModelShape ShapeToProto(const GptShape& shape);
GptShape ShapeFromProto(const ModelShape& shape);

// TrainLoaderState <-> LoaderState.
LoaderState LoaderStateToProto(const TrainLoaderState& state);
TrainLoaderState LoaderStateFromProto(const LoaderState& state);

// Adds to `manifest` one TensorRecord per tensor of `shape`, each with the pieces of tensor-parallel ranks
// 0..tp-1 (from ParameterLayout(shape, rank, tp)).
void AddTensorRecords(const GptShape& shape, int tp, Manifest* manifest);

// The ParameterSpec of `tensor` as tensor-parallel rank `tp_rank` held it (from the manifest, not recomputed), or
// NotFound when the record has no piece for that rank.
absl::StatusOr<ParameterSpec> SavedSpec(const TensorRecord& tensor, int tp_rank);

// Writes DIR/manifest.binpb atomically (temporary file, fsync, rename), sealed with its own crc32
// (manifest_check.h SealManifest).
absl::Status WriteManifest(const std::string& step_dir, const Manifest& manifest);
// Reads and parses DIR/manifest.binpb and checks it before anything uses it: its seal (crc32 of its own bytes) and
// its structure (manifest_check.h ValidateManifest). NotFound when absent; DataLoss naming the file and what differs
// when it does not parse, its checksum does not match, or it fails a check. `sealed` (may be null) tells whether it
// carried a seal (manifests written before 2026-12-03 do not; they pass the structural checks only).
absl::StatusOr<Manifest> ReadManifest(const std::string& step_dir, bool* sealed = nullptr);

}  // namespace kachi::ckpt

#endif  // KACHI_RUNTIME_CKPT_MANIFEST_H_
