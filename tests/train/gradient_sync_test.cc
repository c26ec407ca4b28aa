// Tests for how GradientSync forms its buckets and shards (single process: dp = 1 has one full shard), and for its
// overlapped mode against a recording communicator double (the same calls as Reduce, issued while "backward" is
// still going, on a worker thread for a synchronous backend and inline after the event for an asynchronous one;
// bucket errors and misuse come back as statuses, never a hang).
#include "runtime/train/gradient_sync.h"

#include <algorithm>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "comm/communicator.h"
#include "gtest/gtest.h"
#include "runtime/model/parameter_layout.h"

namespace kachi {
namespace {

TEST(GradientSyncTest, BucketsCoverTheBufferInReverseWholeTensors) {
  const GptShape shape{2, 4, 32, 64, 64, 16};
  const ParameterLayout layout(shape, 0, 1);
  const int64_t bucket_bytes = 4096 * sizeof(float);
  GradientSync sync(layout, layout.total_size(), nullptr, bucket_bytes, false);
  ASSERT_GT(sync.buckets().size(), 2u);
  int64_t expected_end = layout.total_size();
  for (const FlatRange& bucket : sync.buckets()) {
    EXPECT_EQ(bucket.end, expected_end);  // contiguous, last tensor first
    EXPECT_LT(bucket.begin, bucket.end);
    bool starts_at_tensor = false;
    for (const ParameterSpec& spec : layout.tensors()) starts_at_tensor |= spec.offset == bucket.begin;
    EXPECT_TRUE(starts_at_tensor) << bucket.begin;
    expected_end = bucket.begin;
  }
  EXPECT_EQ(expected_end, 0);
  // Every bucket but the last closed one reaches the requested size.
  for (size_t i = 0; i + 1 < sync.buckets().size(); ++i) {
    EXPECT_GE(sync.buckets()[i].end - sync.buckets()[i].begin, 4096);
  }
  EXPECT_EQ(sync.shard().begin, 0);
  EXPECT_EQ(sync.shard().end, layout.total_size());
  EXPECT_FALSE(sync.zero1());
}

TEST(GradientSyncTest, LayoutShardsAreDisjointAndCoverTheGlobalTensors) {
  const GptShape shape{2, 4, 32, 64, 64, 16};
  const ParameterLayout full(shape, 0, 1);
  for (int tp : {2, 4}) {
    std::vector<std::vector<int>> hits(full.tensors().size());
    for (size_t t = 0; t < full.tensors().size(); ++t) hits[t].assign(full.tensors()[t].size, 0);
    for (int rank = 0; rank < tp; ++rank) {
      const ParameterLayout layout(shape, rank, tp);
      ASSERT_EQ(layout.tensors().size(), full.tensors().size());
      for (size_t t = 0; t < layout.tensors().size(); ++t) {
        const ParameterSpec& spec = layout.tensors()[t];
        if (spec.tp_replicated && rank != 0) continue;
        for (int64_t i = 0; i < spec.size; ++i) ++hits[t][spec.GlobalIndex(i)];
      }
    }
    for (size_t t = 0; t < hits.size(); ++t) {
      for (int count : hits[t]) ASSERT_EQ(count, 1) << full.tensors()[t].name << " at tp=" << tp;
    }
  }
}

// A data-parallel group of two ranks that only records: every call (kind, buffer, count, dtype, op, event, thread),
// optionally failing one all-reduce; thread-safe, so the test can watch a worker thread's calls as they happen.
class RecordingCommunicator : public Communicator {
 public:
  struct Call {
    std::string what;  // "all_reduce" or "wait_event"
    const void* data = nullptr;
    size_t count = 0;
    DType dtype = DType::kFloat32;
    ReduceOp op = ReduceOp::kSum;
    void* event = nullptr;
    std::thread::id thread;
  };

  // `asynchronous`: behave like NCCL (GradientSync drives it inline). `fail_at`: index of the all-reduce that fails.
  explicit RecordingCommunicator(bool asynchronous = false, int fail_at = -1)
      : Communicator(CommOptions{absl::Seconds(60), "fake_dp"}), asynchronous_(asynchronous), fail_at_(fail_at) {}

  int rank() const override { return 0; }
  int size() const override { return 2; }
  absl::string_view backend() const override { return "fake"; }
  bool wants_device_buffers() const override { return false; }
  bool asynchronous() const override { return asynchronous_; }
  absl::Status WaitEvent(void* event) override {
    Record({"wait_event", nullptr, 0, DType::kFloat32, ReduceOp::kSum, event, std::this_thread::get_id()});
    return absl::OkStatus();
  }

  // A copy of the calls so far.
  std::vector<Call> calls() {
    absl::MutexLock lock(&mu_);
    return calls_;
  }
  // The all-reduce calls only.
  std::vector<Call> all_reduces() {
    std::vector<Call> result;
    for (const Call& call : calls()) {
      if (call.what == "all_reduce") result.push_back(call);
    }
    return result;
  }
  // Waits up to `timeout` for at least `n` all-reduce calls; false if they did not come.
  bool AwaitAllReduces(size_t n, absl::Duration timeout) {
    absl::MutexLock lock(&mu_);
    auto enough = [this, n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return all_reduce_count_ >= n; };
    return mu_.AwaitWithTimeout(absl::Condition(&enough), timeout);
  }
  void set_fail_at(int fail_at) {
    absl::MutexLock lock(&mu_);
    fail_at_ = fail_at;
    all_reduce_count_ = 0;
  }

 protected:
  absl::Status DoAllReduce(const void* send, void* recv, size_t count, DType dtype, ReduceOp op) override {
    EXPECT_EQ(send, recv);
    const int index = static_cast<int>(Record({"all_reduce", recv, count, dtype, op, nullptr,
                                               std::this_thread::get_id()}));
    if (index == fail_at_) return absl::InternalError("injected all-reduce failure");
    return absl::OkStatus();
  }
  absl::Status DoReduceScatter(const void*, void*, size_t, DType, ReduceOp) override { return Unexpected(); }
  absl::Status DoAllGather(const void*, void*, size_t, DType) override { return Unexpected(); }
  absl::Status DoBroadcast(void*, size_t, DType, int) override { return Unexpected(); }
  absl::Status DoBarrier() override { return Unexpected(); }
  absl::StatusOr<std::unique_ptr<Communicator>> DoSplit(int, int, CommOptions) override { return Unexpected(); }

 private:
  static absl::Status Unexpected() { return absl::UnimplementedError("not used by GradientSync's all-reduce"); }
  // Appends `call`; returns the index among all-reduces for an all-reduce.
  size_t Record(Call call) {
    absl::MutexLock lock(&mu_);
    calls_.push_back(call);
    return call.what == "all_reduce" ? all_reduce_count_++ : 0;
  }

  const bool asynchronous_;
  absl::Mutex mu_;
  int fail_at_ ABSL_GUARDED_BY(mu_);
  std::vector<Call> calls_ ABSL_GUARDED_BY(mu_);
  size_t all_reduce_count_ ABSL_GUARDED_BY(mu_) = 0;
};

const GptShape kOverlapShape{2, 4, 32, 64, 64, 16};
constexpr int64_t kSmallBuckets = 2048;  // bytes: several buckets for the tiny model

int FirstTensorOfBlock(const BlockTensors& t) {
  return std::min({t.ln_1_weight, t.ln_1_bias, t.c_attn_weight, t.c_attn_bias, t.attn_proj_weight,
                   t.attn_proj_bias, t.ln_2_weight, t.ln_2_bias, t.c_fc_weight, t.c_fc_bias, t.mlp_proj_weight,
                   t.mlp_proj_bias});
}

// What backward reports, in order: the final LayerNorm, each block from the last, then everything (0).
std::vector<int> BackwardReports(const ParameterLayout& layout) {
  std::vector<int> reports = {std::min(layout.ln_f_weight(), layout.ln_f_bias())};
  for (int l = static_cast<int>(layout.shape().layers) - 1; l >= 0; --l) {
    reports.push_back(FirstTensorOfBlock(layout.block(l)));
  }
  reports.push_back(0);
  return reports;
}

// Buckets that lie entirely in tensors >= first (those the report of `first` makes ready).
size_t ReadyBuckets(const GradientSync& sync, const ParameterLayout& layout, int first) {
  size_t ready = 0;
  while (ready < sync.buckets().size() && sync.buckets()[ready].begin >= layout.tensors()[first].offset) ++ready;
  return ready;
}

TEST(GradientSyncOverlapTest, SameCallsAsReduceIssuedWhileBackwardContinues) {
  const ParameterLayout layout(kOverlapShape, 0, 1);
  std::vector<float> grads(layout.total_size());
  for (DType dtype : {DType::kFloat32, DType::kBFloat16}) {
    RecordingCommunicator reference_comm, overlap_comm;
    GradientSync reference(layout, layout.total_size(), &reference_comm, kSmallBuckets, false);
    GradientSync sync(layout, layout.total_size(), &overlap_comm, kSmallBuckets, false);
    ASSERT_GT(sync.buckets().size(), 4u);
    ASSERT_TRUE(reference.Reduce(grads.data(), nullptr, dtype).ok());

    ASSERT_TRUE(sync.can_overlap());
    ASSERT_TRUE(sync.BeginOverlap(grads.data(), dtype).ok());
    const std::vector<int> reports = BackwardReports(layout);
    for (size_t k = 0; k < reports.size(); ++k) {
      ASSERT_TRUE(sync.GradientsReady(reports[k], nullptr).ok());
      // "Backward" does not go on until the buckets just made ready have been issued by the worker thread: this
      // would time out if the reduction waited for FinishOverlap.
      // (The final LayerNorm alone is smaller than a bucket: its bucket is ready after the last block.)
      const size_t ready = ReadyBuckets(sync, layout, reports[k]);
      if (k > 0 && k + 1 < reports.size()) {
        ASSERT_GT(ready, 0u) << "report " << k << " made no bucket ready: the test shape needs smaller buckets";
        EXPECT_TRUE(overlap_comm.AwaitAllReduces(ready, absl::Seconds(20)))
            << "bucket collectives were not issued while backward continued (report " << k << ")";
      }
    }
    ASSERT_TRUE(sync.FinishOverlap().ok());

    const auto expected = reference_comm.all_reduces();
    const auto actual = overlap_comm.all_reduces();
    ASSERT_EQ(actual.size(), expected.size());
    ASSERT_EQ(actual.size(), sync.buckets().size());
    for (size_t i = 0; i < actual.size(); ++i) {
      EXPECT_EQ(actual[i].data, expected[i].data) << i;
      EXPECT_EQ(actual[i].count, expected[i].count) << i;
      EXPECT_EQ(actual[i].dtype, dtype) << i;
      EXPECT_EQ(actual[i].op, ReduceOp::kAvg) << i;
      EXPECT_NE(actual[i].thread, std::this_thread::get_id()) << "a synchronous backend runs on the worker";
    }
    EXPECT_EQ(sync.overlap_stats().buckets, static_cast<int>(sync.buckets().size()));
    EXPECT_EQ(sync.overlap_stats().launched_early, static_cast<int>(ReadyBuckets(sync, layout, reports[2])));
    EXPECT_LT(sync.overlap_stats().launched_early, sync.overlap_stats().buckets);  // wte/wpe come last
  }
}

TEST(GradientSyncOverlapTest, AsynchronousBackendEnqueuesInlineAfterTheEvent) {
  const ParameterLayout layout(kOverlapShape, 0, 1);
  std::vector<float> grads(layout.total_size());
  RecordingCommunicator comm(/*asynchronous=*/true);
  GradientSync sync(layout, layout.total_size(), &comm, kSmallBuckets, false);
  int markers[2];
  ASSERT_TRUE(sync.BeginOverlap(grads.data()).ok());
  const int last_block = FirstTensorOfBlock(layout.block(static_cast<int>(kOverlapShape.layers) - 1));
  ASSERT_TRUE(sync.GradientsReady(last_block, &markers[0]).ok());
  // Enqueued before GradientsReady returned, on this thread, after waiting for the event.
  const size_t ready = ReadyBuckets(sync, layout, last_block);
  ASSERT_GT(ready, 0u);
  auto calls = comm.calls();
  ASSERT_EQ(calls.size(), 1 + ready);
  EXPECT_EQ(calls[0].what, "wait_event");
  EXPECT_EQ(calls[0].event, &markers[0]);
  for (const auto& call : calls) EXPECT_EQ(call.thread, std::this_thread::get_id());
  ASSERT_TRUE(sync.GradientsReady(0, &markers[1]).ok());
  ASSERT_TRUE(sync.FinishOverlap().ok());
  calls = comm.calls();
  ASSERT_EQ(calls.size(), 2 + sync.buckets().size());
  EXPECT_EQ(calls[1 + ready].what, "wait_event");
  EXPECT_EQ(calls[1 + ready].event, &markers[1]);
}

TEST(GradientSyncOverlapTest, BucketErrorComesBackFromFinishOverlap) {
  const ParameterLayout layout(kOverlapShape, 0, 1);
  std::vector<float> grads(layout.total_size());
  for (bool asynchronous : {false, true}) {
    RecordingCommunicator comm(asynchronous, /*fail_at=*/1);
    GradientSync sync(layout, layout.total_size(), &comm, kSmallBuckets, false);
    ASSERT_TRUE(sync.BeginOverlap(grads.data()).ok());
    for (int first : BackwardReports(layout)) EXPECT_TRUE(sync.GradientsReady(first, nullptr).ok());
    const absl::Status status = sync.FinishOverlap();
    EXPECT_EQ(status.code(), absl::StatusCode::kInternal) << status;
    EXPECT_NE(status.message().find("injected all-reduce failure"), absl::string_view::npos) << status;
    EXPECT_NE(status.message().find("gradient bucket 1"), absl::string_view::npos) << status;
    EXPECT_EQ(comm.all_reduces().size(), 2u) << "no collective may follow a failed bucket";
    // The next overlapped reduction starts clean.
    comm.set_fail_at(-1);
    ASSERT_TRUE(sync.BeginOverlap(grads.data()).ok());
    ASSERT_TRUE(sync.GradientsReady(0, nullptr).ok());
    EXPECT_TRUE(sync.FinishOverlap().ok());
    EXPECT_EQ(comm.all_reduces().size(), 2 + sync.buckets().size());
  }
}

TEST(GradientSyncOverlapTest, MisuseIsAnErrorNotAHang) {
  const ParameterLayout layout(kOverlapShape, 0, 1);
  std::vector<float> grads(layout.total_size());
  RecordingCommunicator comm;
  GradientSync sync(layout, layout.total_size(), &comm, kSmallBuckets, false);
  EXPECT_EQ(sync.GradientsReady(0, nullptr).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(sync.FinishOverlap().code(), absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(sync.BeginOverlap(grads.data()).ok());
  EXPECT_EQ(sync.BeginOverlap(grads.data()).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(sync.GradientsReady(-1, nullptr).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(sync.GradientsReady(static_cast<int>(layout.tensors().size()) + 1, nullptr).code(),
            absl::StatusCode::kInvalidArgument);
  // Backward stopped after the final LayerNorm: the launched buckets finish, the rest is reported.
  ASSERT_TRUE(sync.GradientsReady(std::min(layout.ln_f_weight(), layout.ln_f_bias()), nullptr).ok());
  const absl::Status status = sync.FinishOverlap();
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << status;
  EXPECT_NE(status.message().find("became ready"), absl::string_view::npos) << status;

  // No overlapped mode without a data-parallel group or with ZeRO-1.
  GradientSync alone(layout, layout.total_size(), nullptr, kSmallBuckets, false);
  EXPECT_FALSE(alone.can_overlap());
  EXPECT_EQ(alone.BeginOverlap(grads.data()).code(), absl::StatusCode::kFailedPrecondition);
  const int64_t padded = (layout.total_size() + 1) / 2 * 2;
  std::vector<float> padded_grads(padded);
  GradientSync zero1(layout, padded, &comm, kSmallBuckets, true);
  EXPECT_FALSE(zero1.can_overlap());
  EXPECT_EQ(zero1.BeginOverlap(padded_grads.data()).code(), absl::StatusCode::kFailedPrecondition);

  // Destroyed with the reduction still open: the worker is joined, nothing hangs or crashes.
  {
    GradientSync open(layout, layout.total_size(), &comm, kSmallBuckets, false);
    ASSERT_TRUE(open.BeginOverlap(grads.data()).ok());
    ASSERT_TRUE(open.GradientsReady(0, nullptr).ok());
  }
}

}  // namespace
}  // namespace kachi
