// The pieces of failure messages that need no MPI: the flight record's text form and activity description, which
// hosts count as lost, and the PEER LOST / HOST LOST line (comm/flight_recorder.h, comm/failure_watch.h). Seeded
// random records round-trip; host grouping is checked against a direct count.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "comm/failure_watch.h"
#include "comm/flight_recorder.h"

namespace kachi {
namespace {

TEST(FlightRecordTest, TextRoundTripsOnRandomRecords) {
  std::mt19937 gen(1313);
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<FlightEntry> record(1 + gen() % 4);
    for (FlightEntry& entry : record) {
      entry.comm = "world/c" + std::to_string(gen() % 100);
      for (int i = 0, n = 1 + static_cast<int>(gen() % 8); i < n; ++i) entry.world_ranks.push_back(gen() % 4096);
      entry.entered = static_cast<int64_t>(gen() % 100000) - 1;
      entry.kind = static_cast<int>(gen() % 6);
      entry.completed = entry.entered - static_cast<int64_t>(gen() % 2);
      entry.stamp = gen();
    }
    const std::vector<FlightEntry> back = ParseFlightRecord(FlightRecordText(record));
    ASSERT_EQ(back.size(), record.size());
    for (size_t i = 0; i < record.size(); ++i) {
      EXPECT_EQ(back[i].comm, record[i].comm);
      EXPECT_EQ(back[i].world_ranks, record[i].world_ranks);
      EXPECT_EQ(back[i].entered, record[i].entered);
      EXPECT_EQ(back[i].kind, record[i].kind);
      EXPECT_EQ(back[i].completed, record[i].completed);
      EXPECT_EQ(back[i].stamp, record[i].stamp);
    }
  }
  EXPECT_TRUE(ParseFlightRecord("garbage\nworld|0,1|x|0|0|0\n").empty());
}

TEST(FlightRecordTest, DescribesTheMostRecentCommunicator) {
  EXPECT_EQ(DescribeActivity({}), "no collective yet");
  std::vector<FlightEntry> record = ParseFlightRecord("world|0,1,2,3|7|0|7|10\nworld/tp|0,1|12|0|11|11\n");
  EXPECT_EQ(DescribeActivity(record), "waiting in all_reduce #12 on world/tp");
  record = ParseFlightRecord("world|0,1,2,3|4|0|4|10\nworld/tp|0,1|2|4|2|3\n");
  EXPECT_EQ(DescribeActivity(record), "not in a collective (last: all_reduce #4 on world)");
}

TEST(LostHostsTest, AHostIsLostOnlyWhenEveryRankOfItIsGone) {
  const std::vector<std::string> hosts = {"a", "a", "b", "b", "c", "c", "d", "d"};
  EXPECT_TRUE(LostHosts({6}, hosts, 0).empty());
  auto lost = LostHosts({6, 7}, hosts, 0);
  ASSERT_EQ(lost.size(), 1u);
  EXPECT_EQ(lost["d"], (std::vector<int>{6, 7}));
  EXPECT_TRUE(LostHosts({1}, hosts, 0).empty()) << "the reporting rank's own host is never lost";
  // Against a direct count on random sets.
  std::mt19937 gen(99);
  for (int trial = 0; trial < 300; ++trial) {
    std::vector<int> gone;
    for (int r = 0; r < 8; ++r) {
      if (gen() % 2) gone.push_back(r);
    }
    const int self = static_cast<int>(gen() % 8);
    const auto got = LostHosts(gone, hosts, self);
    for (int h = 0; h < 4; ++h) {
      const std::string host = hosts[2 * h];
      const bool both = std::count(gone.begin(), gone.end(), 2 * h) && std::count(gone.begin(), gone.end(), 2 * h + 1);
      EXPECT_EQ(got.count(host) == 1, both && host != hosts[self]) << "trial " << trial << " host " << host;
    }
  }
}

TEST(PeerLossMessageTest, NamesHostsAndWorldRanks) {
  const std::vector<std::string> hosts = {"kf1", "kf1", "kf2", "kf2", "kf3", "kf3"};
  EXPECT_EQ(PeerLossMessage({4, 5}, hosts, 0),
            "kachi: HOST LOST kf3 (world ranks 4, 5): every rank of it died (side-channel connections closed without "
            "a goodbye); seen by world rank 0 (host kf1), which ends the job (exit 87)");
  EXPECT_EQ(PeerLossMessage({3}, hosts, 1),
            "kachi: PEER LOST world rank 3 (host kf2) died (side-channel connection closed without a goodbye); seen "
            "by world rank 1 (host kf1), which ends the job (exit 87)");
}

}  // namespace
}  // namespace kachi
