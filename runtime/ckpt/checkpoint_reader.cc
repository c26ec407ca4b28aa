// Resharding reads of a committed checkpoint (see checkpoint_reader.h).
#include "runtime/ckpt/checkpoint_reader.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "kernels/base/status_macros.h"
#include "runtime/ckpt/manifest.h"
#include "runtime/ckpt/shard_io.h"
#include "runtime/io/tensor_shard.h"
#include "runtime/model/gpt_shape.h"

namespace kachi::ckpt {
namespace {

const char* KindName(Segment::Kind kind) {
  switch (kind) {
    case Segment::PARAMS: return "parameters";
    case Segment::ADAM_M: return "AdamW first moment";
    case Segment::ADAM_V: return "AdamW second moment";
  }
  return "?";
}

// True when the pieces a and b of the same tensor share an element.
bool PiecesOverlap(const ParameterSpec& a, const ParameterSpec& b) {
  if (a.col_start >= b.col_start + b.local_cols || b.col_start >= a.col_start + a.local_cols) return false;
  for (const RowRange& ra : a.rows) {
    for (const RowRange& rb : b.rows) {
      if (ra.start < rb.start + rb.count && rb.start < ra.start + ra.count) return true;
    }
  }
  return false;
}

bool SameShape(const GptShape& a, const GptShape& b) {
  return a.layers == b.layers && a.heads == b.heads && a.width == b.width && a.vocab_size == b.vocab_size &&
         a.padded_vocab == b.padded_vocab && a.context == b.context;
}

}  // namespace

CheckpointReader::CheckpointReader(std::string path, Manifest manifest)
    : path_(std::move(path)), manifest_(std::move(manifest)) {
  for (int i = 0; i < manifest_.tensors_size(); ++i) tensor_index_[manifest_.tensors(i).name()] = i;
}

absl::StatusOr<CheckpointReader> CheckpointReader::Open(const std::string& step_dir) {
  KACHI_ASSIGN_OR_RETURN(Manifest manifest, ReadManifest(step_dir));
  return CheckpointReader(step_dir, std::move(manifest));
}

absl::StatusOr<int> CheckpointReader::TensorIndex(const std::string& name) const {
  auto it = tensor_index_.find(name);
  if (it == tensor_index_.end()) {
    return absl::FailedPreconditionError(absl::StrCat("checkpoint '", path_, "' has no tensor ", name));
  }
  return it->second;
}

absl::Status CheckpointReader::CheckCompatible(const ParameterLayout& layout) const {
  const GptShape saved = ShapeFromProto(manifest_.shape());
  if (!SameShape(saved, layout.shape())) {
    return absl::FailedPreconditionError(absl::StrCat("checkpoint '", path_, "' holds a model of shape ",
                                                      DescribeShape(saved), ", this run's model is ",
                                                      DescribeShape(layout.shape())));
  }
  if (static_cast<int>(layout.tensors().size()) != manifest_.tensors_size()) {
    return absl::FailedPreconditionError(absl::StrCat("checkpoint '", path_, "' holds ", manifest_.tensors_size(),
                                                      " tensors, this run's model has ", layout.tensors().size()));
  }
  for (const ParameterSpec& spec : layout.tensors()) {
    KACHI_ASSIGN_OR_RETURN(int index, TensorIndex(spec.name));
    const TensorRecord& record = manifest_.tensors(index);
    if (record.global_rows() != spec.global_rows || record.global_cols() != spec.global_cols) {
      return absl::FailedPreconditionError(absl::StrCat("checkpoint '", path_, "': tensor ", spec.name, " is [",
                                                        record.global_rows(), ", ", record.global_cols(),
                                                        "], this run's is [", spec.global_rows, ", ",
                                                        spec.global_cols, "]"));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckpointReader::ReadFlat(Segment::Kind kind, int tp_rank, int64_t begin, int64_t end,
                                        float* out) const {
  int64_t covered = 0;
  for (const ShardRecord& shard : manifest_.shards()) {
    for (const Segment& segment : shard.segments()) {
      if (segment.kind() != kind || segment.tp_rank() != tp_rank) continue;
      const int64_t lo = std::max(begin, segment.flat_begin());
      const int64_t hi = std::min(end, segment.flat_end());
      if (lo >= hi) continue;
      const int64_t offset = segment.byte_offset() + (lo - segment.flat_begin()) * static_cast<int64_t>(sizeof(float));
      KACHI_RETURN_IF_ERROR(
          ReadFileRange(path_ + "/" + shard.file(), offset, (hi - lo) * sizeof(float), out + (lo - begin)));
      covered += hi - lo;
    }
  }
  if (covered != end - begin) {
    return absl::DataLossError(absl::StrCat("checkpoint '", path_, "' holds ", covered, " of the ", end - begin,
                                            " elements [", begin, ", ", end, ") of tp rank ", tp_rank, "'s ",
                                            KindName(kind)));
  }
  return absl::OkStatus();
}

absl::Status CheckpointReader::AssembleWanted(Segment::Kind kind, int index, const ParameterSpec& wanted,
                                              int target_tp_rank, std::vector<float>* global) const {
  const TensorRecord& record = manifest_.tensors(index);
  const int saved_tp = manifest_.layout().tp();
  global->assign(static_cast<size_t>(record.global_rows() * record.global_cols()), 0.0f);
  std::vector<float> piece;
  for (int rank = 0; rank < saved_tp; ++rank) {
    if (record.tp_replicated() && rank != target_tp_rank % saved_tp) continue;
    KACHI_ASSIGN_OR_RETURN(ParameterSpec saved, SavedSpec(record, rank));
    if (!record.tp_replicated() && !PiecesOverlap(saved, wanted)) continue;
    piece.resize(static_cast<size_t>(saved.size));
    if (auto st = ReadFlat(kind, rank, saved.offset, saved.offset + saved.size, piece.data()); !st.ok()) {
      return absl::Status(st.code(), absl::StrCat("tensor ", record.name(), ": ", st.message()));
    }
    AssembleGlobal(saved, piece.data(), global->data());
  }
  return absl::OkStatus();
}

absl::Status CheckpointReader::LoadParameters(const ParameterLayout& target, float* params) const {
  KACHI_RETURN_IF_ERROR(CheckCompatible(target));
  std::vector<float> global;
  for (const ParameterSpec& spec : target.tensors()) {
    KACHI_ASSIGN_OR_RETURN(int index, TensorIndex(spec.name));
    KACHI_RETURN_IF_ERROR(AssembleWanted(Segment::PARAMS, index, spec, target.tp_rank(), &global));
    ExtractLocal(spec, global.data(), params + spec.offset);
  }
  return absl::OkStatus();
}

absl::Status CheckpointReader::LoadMoments(const ParameterLayout& target, FlatRange range, float* m,
                                           float* v) const {
  KACHI_RETURN_IF_ERROR(CheckCompatible(target));
  std::fill(m, m + (range.end - range.begin), 0.0f);
  std::fill(v, v + (range.end - range.begin), 0.0f);
  std::vector<float> global;
  for (const ParameterSpec& spec : target.tensors()) {
    const int64_t lo = std::max(range.begin, spec.offset);
    const int64_t hi = std::min(range.end, spec.offset + spec.size);
    if (lo >= hi) continue;
    KACHI_ASSIGN_OR_RETURN(int index, TensorIndex(spec.name));
    for (const auto& [kind, out] : {std::pair{Segment::ADAM_M, m}, std::pair{Segment::ADAM_V, v}}) {
      KACHI_RETURN_IF_ERROR(AssembleWanted(kind, index, spec, target.tp_rank(), &global));
      for (int64_t flat = lo; flat < hi; ++flat) out[flat - range.begin] = global[spec.GlobalIndex(flat - spec.offset)];
    }
  }
  return absl::OkStatus();
}

}  // namespace kachi::ckpt
