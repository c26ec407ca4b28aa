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

// Writes DIR/manifest.binpb atomically (temporary file, fsync, rename).
absl::Status WriteManifest(const std::string& step_dir, const Manifest& manifest);
// Reads and parses DIR/manifest.binpb; NotFound when absent, DataLoss when it does not parse or lacks a layout,
// shape or shard list.
absl::StatusOr<Manifest> ReadManifest(const std::string& step_dir);

}  // namespace kachi::ckpt

#endif  // KACHI_RUNTIME_CKPT_MANIFEST_H_
