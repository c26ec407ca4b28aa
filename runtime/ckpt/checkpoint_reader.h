// CheckpointReader: reads a committed checkpoint into a model of any tensor-parallel width and any optimizer range
// (resharding). Every tensor is addressed through the saved layout in the manifest: the saved tensor-parallel
// pieces that overlap the wanted piece are read (from whichever shards hold those flat ranges: parameters from
// data-parallel rank 0's shards, AdamW moments from the ZeRO-1 owners), assembled into the global tensor and the
// wanted piece is extracted. Tensor-parallel-replicated tensors come from one saved rank (the same tp rank when
// the width is unchanged, so a same-layout load is bit-exact).
#ifndef KACHI_RUNTIME_CKPT_CHECKPOINT_READER_H_
#define KACHI_RUNTIME_CKPT_CHECKPOINT_READER_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "runtime/model/parameter_layout.h"
#include "runtime/proto/checkpoint.pb.h"
#include "runtime/train/gradient_sync.h"

namespace kachi::ckpt {

class CheckpointReader {
 public:
  // Reads the manifest of step directory `step_dir` (checksums are VerifyShards' job).
  static absl::StatusOr<CheckpointReader> Open(const std::string& step_dir);

  const Manifest& manifest() const { return manifest_; }
  const std::string& path() const { return path_; }

  // FailedPrecondition unless `layout` is of the saved model: same shape and tensor names.
  absl::Status CheckCompatible(const ParameterLayout& layout) const;
  // Elements [begin, end) of saved tensor-parallel rank tp_rank's flat buffer of `kind`; DataLoss when the shards
  // do not cover the range.
  absl::Status ReadFlat(Segment::Kind kind, int tp_rank, int64_t begin, int64_t end, float* out) const;
  // Fills params (target.total_size() elements) with the target rank's piece of every tensor.
  absl::Status LoadParameters(const ParameterLayout& target, float* params) const;
  // Fills m and v (range.end - range.begin elements; element 0 is flat element range.begin of the target layout)
  // with the saved AdamW moments; elements past target.total_size() (ZeRO-1 padding) become zero.
  absl::Status LoadMoments(const ParameterLayout& target, FlatRange range, float* m, float* v) const;

 private:
  CheckpointReader(std::string path, Manifest manifest);
  // Writes into `global` (resized to the tensor's global size) every element of saved tensor `index` of `kind`
  // that lies in `wanted`'s piece, for a target at tensor-parallel rank target_tp_rank.
  absl::Status AssembleWanted(Segment::Kind kind, int index, const ParameterSpec& wanted, int target_tp_rank,
                              std::vector<float>* global) const;
  // Index of the saved tensor named `name`, or NotFound.
  absl::StatusOr<int> TensorIndex(const std::string& name) const;

  std::string path_;
  Manifest manifest_;
  std::map<std::string, int> tensor_index_;
};

}  // namespace kachi::ckpt

#endif  // KACHI_RUNTIME_CKPT_CHECKPOINT_READER_H_
