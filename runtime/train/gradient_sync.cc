// Bucketed data-parallel all-reduce (after backward, or overlapped with it) and ZeRO-1 reduce-scatter / all-gather
// (see gradient_sync.h).
#include "runtime/train/gradient_sync.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "kernels/base/status_macros.h"

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
  for (const ParameterSpec& spec : tensors) tensor_offsets_.push_back(spec.offset);
  tensor_offsets_.push_back(buffer_size);
}

GradientSync::~GradientSync() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  if (worker_.joinable()) worker_.join();
}

absl::Status GradientSync::Reduce(void* grads, void* shard_grads, DType dtype) {
  if (dp_ == nullptr) return absl::OkStatus();
  if (zero1_) return dp_->ReduceScatter(grads, shard_grads, shard_.end - shard_.begin, dtype, ReduceOp::kAvg);
  const size_t element = DTypeSize(dtype);
  for (const FlatRange& bucket : buckets_) {
    void* data = static_cast<char*>(grads) + bucket.begin * element;
    KACHI_RETURN_IF_ERROR(dp_->AllReduce(data, data, bucket.end - bucket.begin, dtype, ReduceOp::kAvg));
  }
  return absl::OkStatus();
}

absl::Status GradientSync::GatherParameters(void* params, DType dtype) {
  if (!zero1_) return absl::OkStatus();
  const void* mine = static_cast<const char*>(params) + shard_.begin * DTypeSize(dtype);
  return dp_->AllGather(mine, params, shard_.end - shard_.begin, dtype);
}


absl::Status GradientSync::BeginOverlap(void* grads, DType dtype) {
  if (!can_overlap()) {
    return absl::FailedPreconditionError(
        "GradientSync::BeginOverlap: the overlapped reduction needs dp > 1 and no ZeRO-1");
  }
  if (overlapping_) return absl::FailedPreconditionError("GradientSync::BeginOverlap: already overlapping");
  overlapping_ = true;
  overlap_grads_ = grads;
  overlap_dtype_ = dtype;
  launched_ = 0;
  stats_ = OverlapStats{};
  if (!dp_->asynchronous() && !worker_.joinable()) worker_ = std::thread([this] { WorkerLoop(); });
  return absl::OkStatus();
}

absl::Status GradientSync::GradientsReady(int first_final_tensor, void* cuda_event) {
  if (!overlapping_) return absl::FailedPreconditionError("GradientSync::GradientsReady outside BeginOverlap");
  const int tensors = static_cast<int>(tensor_offsets_.size()) - 1;
  if (first_final_tensor < 0 || first_final_tensor > tensors) {
    return absl::InvalidArgumentError(absl::StrCat("GradientSync::GradientsReady: tensor ", first_final_tensor,
                                                   " outside [0, ", tensors, "]"));
  }
  // Buckets run from the end of the buffer down: the ready ones are a prefix of those not launched yet.
  const int64_t final_from = tensor_offsets_[first_final_tensor];
  Job job{cuda_event, launched_, launched_};
  while (job.end < buckets_.size() && buckets_[job.end].begin >= final_from) ++job.end;
  if (job.end == job.first) return absl::OkStatus();
  launched_ = job.end;
  stats_.buckets += static_cast<int>(job.end - job.first);
  if (first_final_tensor > 0) stats_.launched_early += static_cast<int>(job.end - job.first);
  if (dp_->asynchronous()) {
    bool failed = false;
    {
      absl::MutexLock lock(&mu_);
      failed = !error_.ok();
    }
    JobDone(job, failed ? absl::OkStatus() : RunBuckets(job));  // enqueue only: no host wait
    return absl::OkStatus();
  }
  absl::MutexLock lock(&mu_);
  jobs_.push_back(job);
  return absl::OkStatus();
}

absl::Status GradientSync::FinishOverlap() {
  if (!overlapping_) return absl::FailedPreconditionError("GradientSync::FinishOverlap outside BeginOverlap");
  absl::Status status;
  {
    absl::MutexLock lock(&mu_);
    const size_t launched = launched_;
    auto all_done = [this, launched]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return done_ == launched; };
    mu_.Await(absl::Condition(&all_done));
    status = std::move(error_);
    error_ = absl::OkStatus();
    done_ = 0;
  }
  overlapping_ = false;
  overlap_grads_ = nullptr;
  if (status.ok() && launched_ != buckets_.size()) {
    status = absl::FailedPreconditionError(absl::StrCat(
        "GradientSync::FinishOverlap: only ", launched_, " of ", buckets_.size(),
        " gradient buckets became ready (backward did not report every tensor final)"));
  }
  return status;
}

absl::Status GradientSync::RunBuckets(const Job& job) {
  KACHI_RETURN_IF_ERROR(dp_->WaitEvent(job.event));
  const size_t element = DTypeSize(overlap_dtype_);
  for (size_t b = job.first; b < job.end; ++b) {
    void* data = static_cast<char*>(overlap_grads_) + buckets_[b].begin * element;
    const size_t count = static_cast<size_t>(buckets_[b].end - buckets_[b].begin);
    if (auto st = dp_->AllReduce(data, data, count, overlap_dtype_, ReduceOp::kAvg); !st.ok()) {
      return absl::Status(st.code(), absl::StrCat("gradient bucket ", b, " of ", buckets_.size(), " (", count,
                                                  " elements): ", st.message()));
    }
  }
  return absl::OkStatus();
}

void GradientSync::JobDone(const Job& job, const absl::Status& status) {
  absl::MutexLock lock(&mu_);
  if (error_.ok() && !status.ok()) error_ = status;
  done_ += job.end - job.first;
}

void GradientSync::WorkerLoop() {
  while (true) {
    Job job;
    bool skip = false;
    {
      absl::MutexLock lock(&mu_);
      auto has_work = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stop_ || !jobs_.empty(); };
      mu_.Await(absl::Condition(&has_work));
      if (stop_) return;
      job = jobs_.front();
      jobs_.pop_front();
      skip = !error_.ok();  // after a failed bucket no further collective is issued
    }
    JobDone(job, skip ? absl::OkStatus() : RunBuckets(job));
  }
}

}  // namespace kachi
