// GradientSync: data-parallel gradient averaging. Without ZeRO, gradients are all-reduced (averaged) in buckets
// of about bucket_bytes, formed from whole tensors in reverse layout order (the order backward produces them, so a
// GPU path can start each bucket while backward continues). With ZeRO-1 the padded flat gradient buffer is
// reduce-scattered instead: rank r keeps the average of elements [r * S, (r + 1) * S), S = buffer / dp.
#ifndef KACHI_RUNTIME_TRAIN_GRADIENT_SYNC_H_
#define KACHI_RUNTIME_TRAIN_GRADIENT_SYNC_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "comm/communicator.h"
#include "runtime/model/parameter_layout.h"

namespace kachi {

// A contiguous range [begin, end) of the flat buffer.
struct FlatRange {
  int64_t begin = 0;
  int64_t end = 0;
};

class GradientSync {
 public:
  // `dp` may be null (dp = 1). buffer_size is the padded flat size (a multiple of dp when zero1).
  GradientSync(const ParameterLayout& layout, int64_t buffer_size, Communicator* dp, int64_t bucket_bytes,
               bool zero1);

  // The buckets, in the order they are reduced (without ZeRO).
  const std::vector<FlatRange>& buckets() const { return buckets_; }
  // This rank's ZeRO-1 shard of the flat buffer (the whole buffer without ZeRO).
  FlatRange shard() const { return shard_; }
  bool zero1() const { return zero1_; }

  // Averages `grads` (elements of `dtype`: fp32, or bf16 in mixed precision) across data-parallel ranks: in place
  // in buckets (without ZeRO), or into shard_grads (S elements, the average of this rank's shard) with ZeRO-1.
  absl::Status Reduce(void* grads, void* shard_grads, DType dtype = DType::kFloat32);
  // With ZeRO-1: gathers every rank's updated shard so `params` is complete everywhere (no-op without ZeRO).
  absl::Status GatherParameters(void* params, DType dtype = DType::kFloat32);

 private:
  Communicator* dp_;
  bool zero1_;
  std::vector<FlatRange> buckets_;
  FlatRange shard_;
};

}  // namespace kachi

#endif  // KACHI_RUNTIME_TRAIN_GRADIENT_SYNC_H_
