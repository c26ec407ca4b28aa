// The two-phase snapshot of a rank's shard (see shard_snapshot.h).
#include "runtime/ckpt/shard_snapshot.h"

#include <algorithm>
#include <climits>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "kernels/base/status_macros.h"
#include "runtime/ckpt/checkpoint_paths.h"

namespace kachi::ckpt {
namespace {

// Chunk buffers the writer downloads staged bytes into (chunk k+1 downloads while chunk k is written).
constexpr int kDownloadSlots = 2;

// A run of state to copy: flat elements [begin, end) of `kind`, read from `values` whose element 0 is flat element
// `base`.
struct Piece {
  Segment::Kind kind;
  int64_t begin, end;
  const float* values;
  int64_t base;
  const float* first() const { return values + (begin - base); }
  size_t bytes() const { return static_cast<size_t>(end - begin) * sizeof(float); }
};

// What `source` writes, in file order (see the file comment of shard_snapshot.h).
std::vector<Piece> PlanPieces(const ShardSource& source) {
  std::vector<Piece> pieces;
  const FlatRange range = source.optimizer->range();
  const int64_t range_end = std::min(range.end, source.model_size);  // ZeRO padding is always zero
  const bool writes_moments = source.zero1 || source.dp_rank == 0;
  if (source.master != nullptr) {
    if (writes_moments) pieces.push_back({Segment::PARAMS, range.begin, range_end, source.master, range.begin});
  } else if (source.dp_rank == 0) {
    pieces.push_back({Segment::PARAMS, 0, source.model_size, source.params, 0});
  }
  if (writes_moments) {
    ShardedAdamW& optimizer = *source.optimizer;
    pieces.push_back({Segment::ADAM_M, range.begin, range_end, optimizer.first_moment().data(), range.begin});
    pieces.push_back({Segment::ADAM_V, range.begin, range_end, optimizer.second_moment().data(), range.begin});
  }
  pieces.erase(std::remove_if(pieces.begin(), pieces.end(), [](const Piece& p) { return p.begin >= p.end; }),
               pieces.end());
  return pieces;
}

}  // namespace

absl::Status ShardSnapshot::Take(const ShardSource& source, const SnapshotOptions& options) {
  static_assert(sizeof(float) == 4, "shards hold IEEE fp32");
  if (options.chunk_bytes <= 0) {
    return absl::InvalidArgumentError(absl::StrCat("checkpoint chunk size ", options.chunk_bytes, ", expected > 0"));
  }
  options_ = options;
  ops_ = nullptr;
  record_.Clear();
  record_.set_rank(source.rank);
  record_.set_dp_rank(source.dp_rank);
  record_.set_tp_rank(source.tp_rank);
  record_.set_file(ShardFileName(source.rank));
  const FlatRange range = source.optimizer->range();
  record_.set_optimizer_begin(range.begin);
  record_.set_optimizer_end(range.end);

  const std::vector<Piece> pieces = PlanPieces(source);
  size_ = 0;
  for (const Piece& piece : pieces) {
    Segment* segment = record_.add_segments();
    segment->set_kind(piece.kind);
    segment->set_tp_rank(source.tp_rank);
    segment->set_flat_begin(piece.begin);
    segment->set_flat_end(piece.end);
    segment->set_byte_offset(size_);
    size_ += static_cast<int64_t>(piece.bytes());
  }
  const size_t total = static_cast<size_t>(size_);
  DeviceContext* ops = source.ops != nullptr ? source.ops : &CpuModelOps();

  if (!ops->device_memory()) {  // host state: one copy into the host buffer
    KACHI_RETURN_IF_ERROR(host_.Reserve(ops, total));
    for (size_t i = 0; i < pieces.size(); ++i) {
      std::memcpy(host_.data() + record_.segments(static_cast<int>(i)).byte_offset(), pieces[i].first(),
                  pieces[i].bytes());
    }
    return absl::OkStatus();
  }
  if (!options.device_staging) {  // device state, no staging: download into pinned host memory now
    KACHI_RETURN_IF_ERROR(host_.Reserve(ops, total));
    for (size_t i = 0; i < pieces.size(); ++i) {
      KACHI_RETURN_IF_ERROR(ops->Download(host_.data() + record_.segments(static_cast<int>(i)).byte_offset(),
                                          pieces[i].first(), pieces[i].bytes()));
    }
    return absl::OkStatus();
  }
  // Device state: device-to-device copies queued after the step's work, then one synchronize.
  KACHI_RETURN_IF_ERROR(staging_.Reserve(ops, total));
  const int64_t chunk = std::min<int64_t>(options.chunk_bytes, std::max<int64_t>(size_, 1));
  KACHI_RETURN_IF_ERROR(chunks_.Reserve(ops, static_cast<size_t>(chunk) * kDownloadSlots));
  host_.Free();  // a run that switched from host buffers does not keep both
  for (size_t i = 0; i < pieces.size(); ++i) {
    KACHI_RETURN_IF_ERROR(ops->CopyAsync(staging_.data() + record_.segments(static_cast<int>(i)).byte_offset(),
                                         pieces[i].first(), pieces[i].bytes()));
  }
  KACHI_RETURN_IF_ERROR(ops->Synchronize());
  ops_ = ops;
  return absl::OkStatus();
}

absl::StatusOr<const char*> ShardSnapshot::Fetch(int64_t offset, int64_t size, int slot) {
  if (offset < 0 || size < 0 || offset + size > size_) {
    return absl::OutOfRangeError(
        absl::StrCat("bytes [", offset, ", ", offset + size, ") of a ", size_, "-byte snapshot"));
  }
  if (!on_device()) return static_cast<const char*>(host_.data() + offset);
  const int64_t chunk = std::min<int64_t>(options_.chunk_bytes, std::max<int64_t>(size_, 1));
  if (size > chunk || slot < 0 || slot >= kDownloadSlots) {
    return absl::InvalidArgumentError(absl::StrCat("a ", size, "-byte fetch into slot ", slot, " of ", kDownloadSlots,
                                                   " chunk buffers of ", chunk, " bytes"));
  }
  char* dst = chunks_.data() + static_cast<size_t>(slot) * static_cast<size_t>(chunk);
  KACHI_RETURN_IF_ERROR(ops_->DownloadConcurrent(dst, staging_.data() + offset, static_cast<size_t>(size)));
  return static_cast<const char*>(dst);
}

ChunkedWriteOptions ShardSnapshot::WriteOptions() const {
  ChunkedWriteOptions options;
  options.chunk_bytes = options_.chunk_bytes;
  options.slots = on_device() ? kDownloadSlots : INT_MAX;  // host bytes: no buffer is reused, the fetch never waits
  options.overlap_crc = options_.overlap_crc;
  options.start_writeback = options_.start_writeback;
  return options;
}

absl::Status TakeShardSnapshot(const ShardSource& source, const SnapshotOptions& options, ShardSnapshot* snapshot) {
  return snapshot->Take(source, options);
}

}  // namespace kachi::ckpt
