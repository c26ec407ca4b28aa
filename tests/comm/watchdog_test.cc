// Single-process tests of the Watchdog: deadline message format, firing on an expired entry (with a test
// terminator, peer reporter and abort hook), End/EndWhen, and pollers.
#include "comm/watchdog.h"

#include <atomic>
#include <chrono>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace kachi {
namespace {

// An all-reduce on rank 1 of 4 of the MPI communicator `comm_name`, started at `started`, due `deadline_in` later.
CollectiveRecord AllReduceRecord(const std::string& comm_name, uint64_t sequence, size_t bytes, absl::Time started,
                                 absl::Duration deadline_in) {
  CollectiveRecord record;
  record.comm_name = comm_name;
  record.rank = 1;
  record.size = 4;
  record.backend = "mpi";
  record.kind = CollectiveKind::kAllReduce;
  record.sequence = sequence;
  record.bytes = bytes;
  record.started = started;
  record.deadline = started + deadline_in;
  return record;
}

// True when `text` contains `part` (keeps the test free of gmock).
bool Contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// Waits up to `limit` for `done()` to hold, checking every 10 ms.
template <typename Predicate>
bool WaitFor(Predicate done, std::chrono::milliseconds limit = std::chrono::milliseconds(3000)) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return done();
}

// Installs a terminator that records what the watchdog does instead of ending the process.
class WatchdogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Watchdog::Get().SetTerminator([this](int code) {
      std::lock_guard<std::mutex> lock(mu_);
      events_.push_back("terminate " + std::to_string(code));
      terminated_ = true;
    });
  }
  void TearDown() override {
    Watchdog::Get().SetPeerReporter(nullptr);
    EXPECT_EQ(Watchdog::Get().in_flight(), 0u) << "a test left a collective registered";
  }

  // A record of a random-sized all-reduce whose deadline is `deadline_in` from now.
  CollectiveRecord Record(absl::Duration deadline_in, uint64_t seed) {
    std::mt19937_64 gen(seed);
    const uint64_t sequence = gen() % 1000;
    const size_t bytes = 1 + gen() % (1 << 24);
    return AllReduceRecord("test", sequence, bytes, absl::Now(), deadline_in);
  }

  std::vector<std::string> Events() {
    std::lock_guard<std::mutex> lock(mu_);
    return events_;
  }

  std::mutex mu_;
  std::vector<std::string> events_;
  std::atomic<bool> terminated_{false};
};

TEST(DeadlineMessageTest, NamesRankOpSequenceBytesAndWait) {
  CollectiveRecord record = AllReduceRecord("world", 5, 4194304, absl::FromUnixSeconds(1000), absl::Seconds(3));
  EXPECT_EQ(DeadlineMessage(record, record.started + absl::Milliseconds(3040)),
            "kachi: DEADLINE rank 1 of 4 (comm world, mpi): all_reduce #5 of 4194304 bytes did not complete after "
            "3.0 s (deadline 3.0 s)");
  record.kind = CollectiveKind::kReduceScatter;
  record.backend = "nccl";
  record.comm_name = "lane3/tp";
  EXPECT_EQ(DeadlineMessage(record, record.started + absl::Milliseconds(12500)),
            "kachi: DEADLINE rank 1 of 4 (comm lane3/tp, nccl): reduce_scatter #5 of 4194304 bytes did not "
            "complete after 12.5 s (deadline 3.0 s)");
}

TEST(CollectiveNameTest, EveryKindHasItsName) {
  EXPECT_EQ(CollectiveName(CollectiveKind::kAllReduce), "all_reduce");
  EXPECT_EQ(CollectiveName(CollectiveKind::kReduceScatter), "reduce_scatter");
  EXPECT_EQ(CollectiveName(CollectiveKind::kAllGather), "all_gather");
  EXPECT_EQ(CollectiveName(CollectiveKind::kBroadcast), "broadcast");
  EXPECT_EQ(CollectiveName(CollectiveKind::kBarrier), "barrier");
  EXPECT_EQ(CollectiveName(CollectiveKind::kSplit), "split");
}

TEST_F(WatchdogTest, ExpiredEntryPrintsReportsRunsHooksAndTerminates) {
  Watchdog& watchdog = Watchdog::Get();
  std::atomic<int> reporter_calls{0};
  watchdog.SetPeerReporter([&](const CollectiveRecord& late) {
    ++reporter_calls;
    return "2 (at #" + std::to_string(late.sequence - 1) + " all_reduce), 3 (no answer)";
  });
  const int hook = watchdog.AddAbortHook([this] {
    std::lock_guard<std::mutex> lock(mu_);
    events_.push_back("hook");
  });
  const CollectiveRecord record = Record(absl::Milliseconds(200), 11);
  ::testing::internal::CaptureStderr();
  const uint64_t token = watchdog.Begin(record);
  const bool fired = WaitFor([this] { return terminated_.load(); });
  const std::string err = ::testing::internal::GetCapturedStderr();
  watchdog.RemoveAbortHook(hook);
  watchdog.End(token);
  ASSERT_TRUE(fired) << "the watchdog did not end the job within 3 s of a 200 ms deadline";
  EXPECT_EQ(Events(), (std::vector<std::string>{"hook", "terminate 86"}));
  EXPECT_EQ(reporter_calls.load(), 1);
  EXPECT_PRED2(Contains, err, ("kachi: DEADLINE rank 1 of 4 (comm test, mpi): all_reduce #" +
                             std::to_string(record.sequence) + " of " + std::to_string(record.bytes) + " bytes"));
  EXPECT_PRED2(Contains, err, ("(deadline 0.2 s); ranks not arrived: 2 (at #" + std::to_string(record.sequence - 1) +
                             " all_reduce), 3 (no answer)\n"));
}

TEST_F(WatchdogTest, EndedEntryNeverFires) {
  Watchdog& watchdog = Watchdog::Get();
  const uint64_t token = watchdog.Begin(Record(absl::Milliseconds(150), 12));
  EXPECT_EQ(watchdog.in_flight(), 1u);
  watchdog.End(token);
  EXPECT_EQ(watchdog.in_flight(), 0u);
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  EXPECT_FALSE(terminated_.load());
}

TEST_F(WatchdogTest, EndWhenDropsTheEntryOnceComplete) {
  Watchdog& watchdog = Watchdog::Get();
  std::atomic<bool> complete{false};
  std::atomic<int> checks{0};
  const uint64_t token = watchdog.Begin(Record(absl::Seconds(30), 13));
  watchdog.EndWhen(token, [&] {
    ++checks;
    return complete.load();
  });
  ASSERT_TRUE(WaitFor([&] { return checks.load() >= 2; })) << "the completion check was not polled";
  EXPECT_EQ(watchdog.in_flight(), 1u) << "dropped before its check returned true";
  complete = true;
  EXPECT_TRUE(WaitFor([&] { return watchdog.in_flight() == 0; })) << "not dropped after its check returned true";
  EXPECT_FALSE(terminated_.load());
}

TEST_F(WatchdogTest, EndWhenEntryStillFiresAtItsDeadline) {
  Watchdog& watchdog = Watchdog::Get();
  ::testing::internal::CaptureStderr();
  const uint64_t token = watchdog.Begin(Record(absl::Milliseconds(200), 14));
  watchdog.EndWhen(token, [] { return false; });
  const bool fired = WaitFor([this] { return terminated_.load(); });
  const std::string err = ::testing::internal::GetCapturedStderr();
  watchdog.End(token);
  EXPECT_TRUE(fired);
  EXPECT_PRED2(Contains, err, ("kachi: DEADLINE rank 1 of 4"));
}

TEST_F(WatchdogTest, PollersRunEveryTickUntilRemoved) {
  Watchdog& watchdog = Watchdog::Get();
  std::atomic<int> calls{0};
  const int id = watchdog.AddPoller([&] {
    ++calls;
    return absl::OkStatus();
  });
  ASSERT_TRUE(WaitFor([&] { return calls.load() >= 3; })) << "poller ran " << calls.load() << " times in 3 s";
  watchdog.RemovePoller(id);
  const int after_removal = calls.load();
  std::this_thread::sleep_for(std::chrono::milliseconds(350));
  EXPECT_EQ(calls.load(), after_removal) << "a removed poller kept running";
  EXPECT_FALSE(terminated_.load());
}

TEST_F(WatchdogTest, FailingPollerEndsTheJobWithItsMessage) {
  Watchdog& watchdog = Watchdog::Get();
  std::mt19937 gen(15);
  const std::string detail = "async error " + std::to_string(gen() % 100000);
  ::testing::internal::CaptureStderr();
  const int id = watchdog.AddPoller([&] { return absl::InternalError(detail); });
  const bool fired = WaitFor([this] { return terminated_.load(); });
  const std::string err = ::testing::internal::GetCapturedStderr();
  watchdog.RemovePoller(id);
  ASSERT_TRUE(fired);
  EXPECT_EQ(Events(), (std::vector<std::string>{"terminate 88"}));
  EXPECT_PRED2(Contains, err, ("kachi: WATCHDOG INTERNAL: " + detail));
}

}  // namespace
}  // namespace kachi
