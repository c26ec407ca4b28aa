// GradientSync: data-parallel gradient averaging. Without ZeRO, gradients are all-reduced (averaged) in buckets
// of about bucket_bytes, formed from whole tensors in reverse layout order (the order backward finalizes them).
// Reduce runs the buckets one after another once backward is done; the overlapped mode (BeginOverlap,
// GradientsReady, FinishOverlap) starts each bucket as soon as backward has finalized all of its tensors, so the
// reduction runs while backward continues — same buckets, same collective calls in the same order, so the result
// is bitwise that of Reduce. With ZeRO-1 the padded flat gradient buffer is reduce-scattered after backward instead
// (Reduce only; no overlapped mode): rank r keeps the average of elements [r * S, (r + 1) * S), S = buffer / dp.
//
// Overlap and threads: a synchronous backend (MPI) would block the training thread, so its bucket collectives run
// on a worker thread owned by this object (started on the first BeginOverlap, joined by the destructor); between
// BeginOverlap and FinishOverlap only that thread uses the data-parallel communicator (MPI_THREAD_MULTIPLE, which
// kachi requires, lets the training thread use other communicators meanwhile, e.g. tensor parallelism in
// backward). An asynchronous backend (NCCL) is driven inline on the calling thread: a collective call only enqueues
// work on the communicator's stream after WaitEvent, so a thread would add nothing but a second CUDA-calling thread
// and its per-thread device state.
#ifndef KACHI_RUNTIME_TRAIN_GRADIENT_SYNC_H_
#define KACHI_RUNTIME_TRAIN_GRADIENT_SYNC_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "comm/communicator.h"
#include "runtime/model/parameter_layout.h"

namespace kachi {

// A contiguous range [begin, end) of the flat buffer.
struct FlatRange {
  int64_t begin = 0;
  int64_t end = 0;
};

// What the last overlapped reduction did (for tests and logs).
struct OverlapStats {
  int buckets = 0;         // buckets launched (all of them after a complete backward pass)
  int launched_early = 0;  // of those, launched before the final GradientsReady(0), i.e. while backward still ran
};

class GradientSync {
 public:
  // `dp` may be null (dp = 1). buffer_size is the padded flat size (a multiple of dp when zero1).
  GradientSync(const ParameterLayout& layout, int64_t buffer_size, Communicator* dp, int64_t bucket_bytes,
               bool zero1);
  // Joins the worker thread (a bucket collective in progress finishes first; buckets not started are dropped).
  ~GradientSync();
  GradientSync(const GradientSync&) = delete;
  GradientSync& operator=(const GradientSync&) = delete;

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

  // True when the overlapped mode applies: dp > 1 and no ZeRO-1.
  bool can_overlap() const { return dp_ != nullptr && !zero1_; }
  // Starts an overlapped reduction of `grads` (elements of `dtype`), before the backward pass that finalizes them.
  // FailedPrecondition when !can_overlap() or an overlapped reduction is already open.
  absl::Status BeginOverlap(void* grads, DType dtype = DType::kFloat32);
  // Every tensor with index >= first_final_tensor holds its final gradient (in the order of `cuda_event`, a
  // cudaEvent_t as void*, or null for host memory): launches, in bucket order, every bucket not launched yet that
  // lies entirely in those tensors, after Communicator::WaitEvent(cuda_event). The event must stay valid until
  // FinishOverlap returns. Bucket errors are kept for FinishOverlap; this fails only on misuse (no open reduction,
  // index out of range).
  absl::Status GradientsReady(int first_final_tensor, void* cuda_event);
  // Waits until every launched bucket is done and closes the overlapped reduction. Returns the first bucket error
  // (later buckets are then not issued), else FailedPrecondition when some bucket was never launched (backward did
  // not report tensor 0). For an asynchronous backend the collectives are enqueued, not complete (Synchronize).
  absl::Status FinishOverlap();
  // Counters of the last overlapped reduction (valid after FinishOverlap).
  const OverlapStats& overlap_stats() const { return stats_; }

 private:
  // A run of buckets [first, end) for the worker, after `event`.
  struct Job {
    void* event = nullptr;
    size_t first = 0;
    size_t end = 0;
  };
  // WaitEvent(event), then all-reduces buckets [first, end) in order; stops at the first error.
  absl::Status RunBuckets(const Job& job);
  // Records the outcome of a job: the first error wins, and its buckets count as done.
  void JobDone(const Job& job, const absl::Status& status) ABSL_LOCKS_EXCLUDED(mu_);
  // The worker thread: runs queued jobs until stop_.
  void WorkerLoop() ABSL_LOCKS_EXCLUDED(mu_);

  Communicator* dp_;
  bool zero1_;
  std::vector<FlatRange> buckets_;
  FlatRange shard_;
  std::vector<int64_t> tensor_offsets_;  // by tensor index, plus buffer_size at the end

  // Overlapped reduction, training-thread state.
  bool overlapping_ = false;
  void* overlap_grads_ = nullptr;
  DType overlap_dtype_ = DType::kFloat32;
  size_t launched_ = 0;  // buckets [0, launched_) were handed to the backend or the worker
  OverlapStats stats_;

  // Shared with the worker thread.
  absl::Mutex mu_;
  std::deque<Job> jobs_ ABSL_GUARDED_BY(mu_);
  size_t done_ ABSL_GUARDED_BY(mu_) = 0;  // launched buckets finished (or skipped after an error)
  absl::Status error_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread worker_;
};

}  // namespace kachi

#endif  // KACHI_RUNTIME_TRAIN_GRADIENT_SYNC_H_
