// The flight-record seam shared by the MPI and NCCL backends (comm/comm_record.h), without MPI or a GPU: the NCCL
// pattern (a collective entered at enqueue, completed later by its completion event on another thread, possibly
// after later ones were enqueued) seen through LocalFlightRecord and DescribeActivity; completion never moving
// backwards under concurrent completions; and split members (world ranks) against a direct count on seeded random
// colors and keys.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "comm/comm_record.h"
#include "comm/flight_recorder.h"

namespace kachi {
namespace {

// This process's flight-record line of communicator `name` (fails the test when there is none).
FlightEntry EntryOf(const std::string& name) {
  for (const FlightEntry& entry : LocalFlightRecord()) {
    if (entry.comm == name) return entry;
  }
  ADD_FAILURE() << "no flight-record line for " << name;
  return FlightEntry();
}

TEST(CommRecordTest, AsynchronousCompletionShowsInFlightUntilTheEventCompletes) {
  auto progress = std::make_shared<PeerProgress>();
  RecordCommunicator("nccl_test/world", {4, 6, 1}, progress);
  EXPECT_EQ(EntryOf("nccl_test/world").world_ranks, (std::vector<int>{4, 6, 1}));
  EXPECT_EQ(DescribeActivity({EntryOf("nccl_test/world")}), "no collective yet");
  // Three collectives enqueued (as the NCCL backend does) before any completes on the stream.
  MarkCollectiveEntered(*progress, 0, CollectiveKind::kAllReduce);
  MarkCollectiveEntered(*progress, 1, CollectiveKind::kAllGather);
  MarkCollectiveEntered(*progress, 2, CollectiveKind::kReduceScatter);
  EXPECT_EQ(DescribeActivity({EntryOf("nccl_test/world")}), "waiting in reduce_scatter #2 on nccl_test/world");
  // Completion events arrive on another thread (the watchdog's), the first two only.
  std::thread watchdog([&] {
    MarkCollectiveCompleted(*progress, 0);
    MarkCollectiveCompleted(*progress, 1);
  });
  watchdog.join();
  FlightEntry entry = EntryOf("nccl_test/world");
  EXPECT_TRUE(entry.in_flight());
  EXPECT_EQ(entry.completed, 1);
  MarkCollectiveCompleted(*progress, 2);
  EXPECT_EQ(DescribeActivity({EntryOf("nccl_test/world")}),
            "not in a collective (last: reduce_scatter #2 on nccl_test/world)");
  ForgetCommunicator(progress.get());
  for (const FlightEntry& left : LocalFlightRecord()) EXPECT_NE(left.comm, "nccl_test/world");
}

TEST(CommRecordTest, LatestEnteredCommunicatorIsTheOneDescribed) {
  auto world = std::make_shared<PeerProgress>();
  auto tp = std::make_shared<PeerProgress>();
  RecordCommunicator("stamp/world", {0, 1}, world);
  RecordCommunicator("stamp/tp", {0}, tp);
  MarkCollectiveEntered(*tp, 7, CollectiveKind::kBroadcast);
  MarkCollectiveEntered(*world, 3, CollectiveKind::kBarrier);  // entered after tp's: the latest
  EXPECT_EQ(DescribeActivity({EntryOf("stamp/world"), EntryOf("stamp/tp")}), "waiting in barrier #3 on stamp/world");
  ForgetCommunicator(world.get());
  ForgetCommunicator(tp.get());
}

TEST(CommRecordTest, CompletionNeverMovesBackwardsUnderConcurrentCompletions) {
  std::mt19937 gen(2026);
  for (int trial = 0; trial < 20; ++trial) {
    PeerProgress progress;
    const int n = 2000;
    for (int i = 0; i < n; ++i) MarkCollectiveEntered(progress, i, CollectiveKind::kAllReduce);
    std::vector<int> order(n);
    for (int i = 0; i < n; ++i) order[i] = i;
    std::shuffle(order.begin(), order.end(), gen);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&, t] {
        for (int i = t; i < n; i += 4) MarkCollectiveCompleted(progress, order[i]);
      });
    }
    for (std::thread& thread : threads) thread.join();
    EXPECT_EQ(progress.completed.load(), n - 1);
    MarkCollectiveCompleted(progress, 5);
    EXPECT_EQ(progress.completed.load(), n - 1);
  }
}

TEST(CommRecordTest, SplitWorldRanksMatchADirectCount) {
  std::mt19937 gen(1313);
  for (int trial = 0; trial < 300; ++trial) {
    const int size = 1 + static_cast<int>(gen() % 12);
    std::vector<int> parent_world(size), colors(size), keys(size);
    for (int r = 0; r < size; ++r) {
      parent_world[r] = static_cast<int>(gen() % 64);
      colors[r] = static_cast<int>(gen() % 4) - 1;  // -1: no child
      keys[r] = static_cast<int>(gen() % 3);
    }
    for (int me = 0; me < size; ++me) {
      std::vector<int> expected;
      if (colors[me] >= 0) {
        // Direct count: for every key in ascending order, the parent ranks of my color with that key, ascending.
        for (int key = 0; key < 3; ++key) {
          for (int r = 0; r < size; ++r) {
            if (colors[r] == colors[me] && keys[r] == key) expected.push_back(parent_world[r]);
          }
        }
      }
      EXPECT_EQ(SplitWorldRanks(parent_world, colors, keys, me), expected) << "trial " << trial << " rank " << me;
    }
  }
  EXPECT_TRUE(SplitWorldRanks({0, 1}, {0}, {0, 0}, 0).empty());
  EXPECT_TRUE(SplitWorldRanks({0, 1}, {0, 0}, {0, 0}, 2).empty());
}

}  // namespace
}  // namespace kachi
