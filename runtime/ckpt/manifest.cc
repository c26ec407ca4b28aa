// Manifest conversions and file I/O (see manifest.h).
#include "runtime/ckpt/manifest.h"

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "kernels/base/status_macros.h"
#include "runtime/ckpt/checkpoint_paths.h"
#include "runtime/ckpt/manifest_check.h"
#include "runtime/io/atomic_file.h"

namespace kachi::ckpt {

// The fields a struct shares with its manifest message (same names), listed once; KACHI_CONVERSIONS defines the
// conversion both ways from such a list.
#define KACHI_SHAPE_FIELDS(X) X(layers) X(heads) X(width) X(vocab_size) X(padded_vocab) X(context)
#define KACHI_LOADER_STATE_FIELDS(X) X(step) X(epoch) X(seed) X(global_batch) X(num_windows)
#define KACHI_FIELD_TO_PROTO(field) out.set_##field(from.field);
#define KACHI_FIELD_FROM_PROTO(field) out.field = from.field();
#define KACHI_CONVERSIONS(Struct, Proto, to_proto, from_proto, FIELDS) \
  Proto to_proto(const Struct& from) {                                \
    Proto out;                                                        \
    FIELDS(KACHI_FIELD_TO_PROTO)                                      \
    return out;                                                       \
  }                                                                   \
  Struct from_proto(const Proto& from) {                              \
    Struct out;                                                       \
    FIELDS(KACHI_FIELD_FROM_PROTO)                                    \
    return out;                                                       \
  }

KACHI_CONVERSIONS(GptShape, ModelShape, ShapeToProto, ShapeFromProto, KACHI_SHAPE_FIELDS)
KACHI_CONVERSIONS(TrainLoaderState, LoaderState, LoaderStateToProto, LoaderStateFromProto, KACHI_LOADER_STATE_FIELDS)

#undef KACHI_CONVERSIONS
#undef KACHI_FIELD_FROM_PROTO
#undef KACHI_FIELD_TO_PROTO
#undef KACHI_LOADER_STATE_FIELDS
#undef KACHI_SHAPE_FIELDS

void AddTensorRecords(const GptShape& shape, int tp, Manifest* manifest) {
  std::vector<ParameterLayout> layouts;
  for (int rank = 0; rank < tp; ++rank) layouts.emplace_back(shape, rank, tp);
  for (size_t t = 0; t < layouts[0].tensors().size(); ++t) {
    const ParameterSpec& first = layouts[0].tensors()[t];
    TensorRecord* record = manifest->add_tensors();
    record->set_name(first.name);
    for (int64_t dim : first.global_shape) record->add_global_shape(dim);
    record->set_global_rows(first.global_rows);
    record->set_global_cols(first.global_cols);
    record->set_tp_replicated(first.tp_replicated);
    for (int rank = 0; rank < tp; ++rank) {
      const ParameterSpec& spec = layouts[rank].tensors()[t];
      TensorPiece* piece = record->add_pieces();
      piece->set_tp_rank(rank);
      for (const RowRange& rows : spec.rows) {
        RowSpan* span = piece->add_rows();
        span->set_start(rows.start);
        span->set_count(rows.count);
      }
      piece->set_col_start(spec.col_start);
      piece->set_local_cols(spec.local_cols);
      piece->set_flat_offset(spec.offset);
      piece->set_size(spec.size);
    }
  }
}

absl::StatusOr<ParameterSpec> SavedSpec(const TensorRecord& tensor, int tp_rank) {
  for (const TensorPiece& piece : tensor.pieces()) {
    if (piece.tp_rank() != tp_rank) continue;
    ParameterSpec spec;
    spec.name = tensor.name();
    spec.global_shape.assign(tensor.global_shape().begin(), tensor.global_shape().end());
    spec.global_rows = tensor.global_rows();
    spec.global_cols = tensor.global_cols();
    for (const RowSpan& span : piece.rows()) spec.rows.push_back(RowRange{span.start(), span.count()});
    spec.col_start = piece.col_start();
    spec.local_cols = piece.local_cols();
    spec.offset = piece.flat_offset();
    spec.size = piece.size();
    spec.tp_replicated = tensor.tp_replicated();
    if (spec.local_rows() * spec.local_cols != spec.size) {
      return absl::DataLossError(absl::StrCat("manifest piece of ", tensor.name(), " on tp rank ", tp_rank, " has ",
                                              spec.size, " elements but its rows x columns give ",
                                              spec.local_rows() * spec.local_cols));
    }
    return spec;
  }
  return absl::NotFoundError(absl::StrCat("manifest has no piece of ", tensor.name(), " for tp rank ", tp_rank));
}

absl::Status WriteManifest(const std::string& step_dir, const Manifest& manifest) {
  return WriteFileAtomically(step_dir + "/" + kManifestFile, SealManifest(manifest));
}

absl::StatusOr<Manifest> ReadManifest(const std::string& step_dir, bool* sealed) {
  const std::string path = step_dir + "/" + kManifestFile;
  std::error_code error;
  if (!std::filesystem::exists(path, error)) {
    return absl::NotFoundError(absl::StrCat("'", path, "' is missing: the step directory holds no complete manifest"));
  }
  KACHI_ASSIGN_OR_RETURN(const std::string bytes, ReadWholeFile(path));
  Manifest manifest;
  if (!manifest.ParseFromString(bytes)) {
    return absl::DataLossError(absl::StrCat("'", path, "' (", bytes.size(), " bytes) is not a valid manifest"));
  }
  if (!manifest.has_layout() || !manifest.has_shape() || manifest.shards_size() == 0 || manifest.tensors_size() == 0) {
    return absl::DataLossError(absl::StrCat("'", path, "' lacks its layout, shape, tensors or shard list"));
  }
  bool is_sealed = false;
  KACHI_RETURN_IF_ERROR(CheckManifestSeal(path, bytes, manifest, &is_sealed));
  if (sealed != nullptr) *sealed = is_sealed;
  KACHI_RETURN_IF_ERROR(ValidateManifest(step_dir, manifest));
  return manifest;
}

}  // namespace kachi::ckpt
