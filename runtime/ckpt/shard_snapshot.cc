// Copying a rank's parameters and moments into its shard bytes (see shard_snapshot.h).
#include "runtime/ckpt/shard_snapshot.h"

#include <algorithm>
#include <cstring>

#include "comm/status_macros.h"
#include "runtime/ckpt/checkpoint_paths.h"

namespace kachi::ckpt {
namespace {

// Appends flat elements [begin, end) of `values` (whose element 0 is flat element `base`, in `ops`' memory, host
// when null) as a segment.
absl::Status AppendSegment(Segment::Kind kind, int tp_rank, int64_t begin, int64_t end, const float* values,
                           int64_t base, ModelOps* ops, ShardSnapshot* snapshot) {
  if (begin >= end) return absl::OkStatus();
  Segment* segment = snapshot->record.add_segments();
  segment->set_kind(kind);
  segment->set_tp_rank(tp_rank);
  segment->set_flat_begin(begin);
  segment->set_flat_end(end);
  const size_t offset = snapshot->bytes.size();
  const size_t bytes = static_cast<size_t>(end - begin) * sizeof(float);
  segment->set_byte_offset(static_cast<int64_t>(offset));
  if (ops == nullptr || !ops->device_memory()) {
    snapshot->bytes.append(reinterpret_cast<const char*>(values + (begin - base)), bytes);
    return absl::OkStatus();
  }
  snapshot->bytes.resize(offset + bytes);  // device state: one copy straight into the shard bytes
  return ops->Download(snapshot->bytes.data() + offset, values + (begin - base), bytes);
}

}  // namespace

absl::Status TakeShardSnapshot(const ShardSource& source, ShardSnapshot* snapshot) {
  static_assert(sizeof(float) == 4, "shards hold IEEE fp32");
  snapshot->bytes.clear();  // keeps capacity
  snapshot->record.Clear();
  ShardRecord& record = snapshot->record;
  record.set_rank(source.rank);
  record.set_dp_rank(source.dp_rank);
  record.set_tp_rank(source.tp_rank);
  record.set_file(ShardFileName(source.rank));
  const FlatRange range = source.optimizer->range();
  record.set_optimizer_begin(range.begin);
  record.set_optimizer_end(range.end);
  const bool writes_moments = source.zero1 || source.dp_rank == 0;
  // Parameters: the whole model from data-parallel rank 0, or (mixed precision) the fp32 master of the optimizer
  // range from every rank that writes moments.
  const bool writes_params = source.master == nullptr && source.dp_rank == 0;
  const bool writes_master = source.master != nullptr && writes_moments;
  const int64_t moments_end = std::min(range.end, source.model_size);  // ZeRO padding is always zero
  int64_t total = writes_params ? source.model_size : 0;
  if (writes_moments) total += (writes_master ? 3 : 2) * std::max<int64_t>(0, moments_end - range.begin);
  snapshot->bytes.reserve(static_cast<size_t>(total) * sizeof(float));
  if (writes_master) {
    KACHI_RETURN_IF_ERROR(AppendSegment(Segment::PARAMS, source.tp_rank, range.begin, moments_end, source.master,
                                        range.begin, source.ops, snapshot));
  }
  if (writes_params) {
    KACHI_RETURN_IF_ERROR(AppendSegment(Segment::PARAMS, source.tp_rank, 0, source.model_size, source.params, 0,
                                        source.ops, snapshot));
  }
  if (writes_moments) {
    ShardedAdamW& optimizer = *source.optimizer;
    KACHI_RETURN_IF_ERROR(AppendSegment(Segment::ADAM_M, source.tp_rank, range.begin, moments_end,
                                        optimizer.first_moment().data(), range.begin, source.ops, snapshot));
    KACHI_RETURN_IF_ERROR(AppendSegment(Segment::ADAM_V, source.tp_rank, range.begin, moments_end,
                                        optimizer.second_moment().data(), range.begin, source.ops, snapshot));
  }
  return absl::OkStatus();
}

}  // namespace kachi::ckpt
