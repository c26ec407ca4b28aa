// Bucketed data-parallel all-reduce and ZeRO-1 reduce-scatter / all-gather (see gradient_sync.h).
#include "runtime/train/gradient_sync.h"

#include <algorithm>

namespace kachi {

GradientSync::GradientSync(const ParameterLayout& layout, int64_t buffer_size, Communicator* dp,
                           int64_t bucket_bytes, bool zero1)
    : dp_(dp != nullptr && dp->size() > 1 ? dp : nullptr), zero1_(zero1 && dp_ != nullptr) {
  const int dp_size = dp_ ? dp_->size() : 1;
  const int dp_rank = dp_ ? dp_->rank() : 0;
  const int64_t shard_size = buffer_size / dp_size;
  shard_ = zero1_ ? FlatRange{dp_rank * shard_size, (dp_rank + 1) * shard_size} : FlatRange{0, buffer_size};
  // Buckets of whole tensors, last tensor first; the padding tail joins the first bucket.
  const int64_t bucket_elements = std::max<int64_t>(1, bucket_bytes / static_cast<int64_t>(sizeof(float)));
  int64_t end = buffer_size;
  int64_t begin = end;
  const auto& tensors = layout.tensors();
  for (int i = static_cast<int>(tensors.size()) - 1; i >= 0; --i) {
    begin = tensors[i].offset;
    if (end - begin >= bucket_elements || i == 0) {
      buckets_.push_back({begin, end});
      end = begin;
    }
  }
}

absl::Status GradientSync::Reduce(void* grads, void* shard_grads, DType dtype) {
  if (dp_ == nullptr) return absl::OkStatus();
  if (zero1_) return dp_->ReduceScatter(grads, shard_grads, shard_.end - shard_.begin, dtype, ReduceOp::kAvg);
  const size_t element = DTypeSize(dtype);
  for (const FlatRange& bucket : buckets_) {
    void* data = static_cast<char*>(grads) + bucket.begin * element;
    if (auto st = dp_->AllReduce(data, data, bucket.end - bucket.begin, dtype, ReduceOp::kAvg); !st.ok()) return st;
  }
  return absl::OkStatus();
}

absl::Status GradientSync::GatherParameters(void* params, DType dtype) {
  if (!zero1_) return absl::OkStatus();
  const void* mine = static_cast<const char*>(params) + shard_.begin * DTypeSize(dtype);
  return dp_->AllGather(mine, params, shard_.end - shard_.begin, dtype);
}

}  // namespace kachi
