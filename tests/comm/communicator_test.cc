// Single-process tests of Communicator's non-virtual wrappers with a fake backend: argument validation (errors
// name the op), sequence numbers, watchdog registration and the name given to split communicators.
#include "comm/communicator.h"

#include <atomic>
#include <chrono>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "comm/watchdog.h"
#include "gtest/gtest.h"

namespace kachi {
namespace {

bool Contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// A backend that records each call and what the watchdog saw while it ran.
class FakeCommunicator : public Communicator {
 public:
  FakeCommunicator(int rank, int size, CommOptions options = {})
      : Communicator(std::move(options)), rank_(rank), size_(size) {}

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  absl::string_view backend() const override { return "fake"; }
  bool wants_device_buffers() const override { return false; }

  std::vector<std::string> calls;
  std::vector<size_t> in_flight_during_call;
  std::vector<uint64_t> sequence_during_call;
  absl::Status next_status = absl::OkStatus();

 protected:
  absl::Status Record(const std::string& what) {
    calls.push_back(what);
    in_flight_during_call.push_back(Watchdog::Get().in_flight());
    sequence_during_call.push_back(sequence());
    return next_status;
  }
  absl::Status DoAllReduce(const void*, void*, size_t, DType, ReduceOp) override { return Record("all_reduce"); }
  absl::Status DoReduceScatter(const void*, void*, size_t, DType, ReduceOp) override {
    return Record("reduce_scatter");
  }
  absl::Status DoAllGather(const void*, void*, size_t, DType) override { return Record("all_gather"); }
  absl::Status DoBroadcast(void*, size_t, DType, int) override { return Record("broadcast"); }
  absl::Status DoBarrier() override { return Record("barrier"); }
  absl::StatusOr<std::unique_ptr<Communicator>> DoSplit(int color, int key, CommOptions options) override {
    if (auto s = Record("split"); !s.ok()) return s;
    if (color < 0) return std::unique_ptr<Communicator>();
    return std::unique_ptr<Communicator>(new FakeCommunicator(0, 1, std::move(options)));
  }

 private:
  int rank_;
  int size_;
};

// Expects `status` to be InvalidArgument mentioning every string of `parts`.
void ExpectInvalid(const absl::Status& status, std::initializer_list<std::string> parts) {
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  for (const std::string& part : parts) EXPECT_PRED2(Contains, std::string(status.message()), part);
}

class CommunicatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::mt19937 gen(20240601);
    data_.resize(4096);
    for (auto& v : data_) v = static_cast<float>(gen() % 1000) + 1.0f;
  }
  void TearDown() override { EXPECT_EQ(Watchdog::Get().in_flight(), 0u); }
  std::vector<float> data_;
};

TEST_F(CommunicatorTest, NullBuffersWithElementsAreRejectedNamingTheOp) {
  FakeCommunicator comm(1, 4);
  float* buf = data_.data();
  ExpectInvalid(comm.AllReduce(nullptr, buf, 7, DType::kFloat32, ReduceOp::kSum), {"all_reduce", "send", "7"});
  ExpectInvalid(comm.AllReduce(buf, nullptr, 7, DType::kFloat32, ReduceOp::kSum), {"all_reduce", "recv"});
  ExpectInvalid(comm.ReduceScatter(nullptr, buf, 3, DType::kFloat32, ReduceOp::kAvg), {"reduce_scatter", "send"});
  ExpectInvalid(comm.AllGather(buf, nullptr, 3, DType::kInt32), {"all_gather", "recv"});
  ExpectInvalid(comm.Broadcast(nullptr, 5, DType::kBFloat16, 0), {"broadcast", "null"});
  EXPECT_TRUE(comm.calls.empty());
  EXPECT_EQ(comm.sequence(), 0u) << "rejected calls must not take a sequence number";
}

TEST_F(CommunicatorTest, ZeroCountAcceptsNullBuffers) {
  FakeCommunicator comm(0, 2);
  EXPECT_TRUE(comm.AllReduce(nullptr, nullptr, 0, DType::kFloat16, ReduceOp::kMax).ok());
  EXPECT_TRUE(comm.ReduceScatter(nullptr, nullptr, 0, DType::kInt64, ReduceOp::kSum).ok());
  EXPECT_TRUE(comm.AllGather(nullptr, nullptr, 0, DType::kInt32).ok());
  EXPECT_TRUE(comm.Broadcast(nullptr, 0, DType::kFloat32, 1).ok());
  EXPECT_EQ(comm.calls.size(), 4u);
}

TEST_F(CommunicatorTest, RootOutOfRangeIsRejected) {
  FakeCommunicator comm(2, 3);
  ExpectInvalid(comm.Broadcast(data_.data(), 4, DType::kFloat32, 3), {"broadcast", "root 3", "< 3"});
  ExpectInvalid(comm.Broadcast(data_.data(), 4, DType::kFloat32, -1), {"broadcast", "root -1"});
  EXPECT_TRUE(comm.Broadcast(data_.data(), 4, DType::kFloat32, 2).ok());
}

TEST_F(CommunicatorTest, UnknownDTypeAndOpAreRejected) {
  FakeCommunicator comm(0, 2);
  ExpectInvalid(comm.AllReduce(data_.data(), data_.data(), 4, static_cast<DType>(17), ReduceOp::kSum),
                {"all_reduce", "dtype", "17"});
  ExpectInvalid(comm.ReduceScatter(data_.data(), data_.data(), 4, DType::kFloat32, static_cast<ReduceOp>(9)),
                {"reduce_scatter", "reduce op", "9"});
  EXPECT_TRUE(comm.calls.empty());
}

TEST_F(CommunicatorTest, OverlappingButNotInPlaceBuffersAreRejected) {
  FakeCommunicator comm(1, 4);
  float* base = data_.data();
  ExpectInvalid(comm.AllReduce(base, base + 1, 8, DType::kFloat32, ReduceOp::kSum), {"all_reduce", "overlap"});
  ExpectInvalid(comm.ReduceScatter(base, base, 8, DType::kFloat32, ReduceOp::kSum),
                {"reduce_scatter", "send + rank * recv_count"});
  ExpectInvalid(comm.AllGather(base, base, 8, DType::kFloat32), {"all_gather", "recv + rank * send_count"});
  // The documented in-place layouts are accepted.
  EXPECT_TRUE(comm.AllReduce(base, base, 8, DType::kFloat32, ReduceOp::kSum).ok());
  EXPECT_TRUE(comm.ReduceScatter(base, base + 8, 8, DType::kFloat32, ReduceOp::kSum).ok());
  EXPECT_TRUE(comm.AllGather(base + 8, base, 8, DType::kFloat32).ok());
  EXPECT_EQ(comm.calls, (std::vector<std::string>{"all_reduce", "reduce_scatter", "all_gather"}));
}

TEST_F(CommunicatorTest, EveryCollectiveTakesTheNextSequenceNumberUnderTheWatchdog) {
  FakeCommunicator comm(0, 2);
  float* buf = data_.data();
  ASSERT_TRUE(comm.AllReduce(buf, buf + 64, 64, DType::kFloat32, ReduceOp::kSum).ok());
  ASSERT_TRUE(comm.ReduceScatter(buf, buf + 256, 32, DType::kFloat32, ReduceOp::kSum).ok());
  ASSERT_TRUE(comm.AllGather(buf, buf + 512, 16, DType::kFloat32).ok());
  ASSERT_TRUE(comm.Broadcast(buf, 64, DType::kFloat32, 1).ok());
  ASSERT_TRUE(comm.Barrier().ok());
  comm.next_status = absl::InternalError("backend failure");
  EXPECT_EQ(comm.Barrier().code(), absl::StatusCode::kInternal);
  EXPECT_EQ(comm.sequence(), 6u);
  // During call k the sequence already counts it (k + 1) and the watchdog holds exactly one entry.
  EXPECT_EQ(comm.sequence_during_call, (std::vector<uint64_t>{1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(comm.in_flight_during_call, (std::vector<size_t>(6, 1)));
}

TEST_F(CommunicatorTest, SplitNamesTheNewCommunicatorAfterParentAndColor) {
  CommOptions options;
  options.name = "world";
  options.deadline = absl::Seconds(42);
  FakeCommunicator comm(0, 4, options);
  auto split = comm.Split(3, 7);
  ASSERT_TRUE(split.ok()) << split.status();
  ASSERT_NE(*split, nullptr);
  EXPECT_EQ((*split)->options().name, "world/split3");
  EXPECT_EQ((*split)->options().deadline, absl::Seconds(42));
  auto named = comm.Split(1, 0, "world/tp");
  ASSERT_TRUE(named.ok());
  EXPECT_EQ((*named)->options().name, "world/tp");
  auto excluded = comm.Split(-1, 0);
  ASSERT_TRUE(excluded.ok());
  EXPECT_EQ(*excluded, nullptr);
  EXPECT_EQ(comm.sequence(), 3u);
}

// A backend that hands completion to the watchdog (as NCCL does) through TrackAsync.
class AsyncFakeCommunicator : public FakeCommunicator {
 public:
  AsyncFakeCommunicator() : FakeCommunicator(0, 2) {}
  std::shared_ptr<std::atomic<bool>> done = std::make_shared<std::atomic<bool>>(false);

 protected:
  bool TrackAsync(uint64_t token) override {
    Watchdog::Get().EndWhen(token, [flag = done] { return flag->load(); });
    return true;
  }
};

TEST_F(CommunicatorTest, AsyncBackendsKeepTheEntryUntilWorkCompletes) {
  AsyncFakeCommunicator comm;
  ASSERT_TRUE(comm.Barrier().ok());
  EXPECT_EQ(Watchdog::Get().in_flight(), 1u);
  comm.done->store(true);
  for (int i = 0; i < 300 && Watchdog::Get().in_flight() != 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(Watchdog::Get().in_flight(), 0u);
}

}  // namespace
}  // namespace kachi
