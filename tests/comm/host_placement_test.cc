// PlaceByHost (comm/host_placement.h): by-slot orders kept, by-node and scattered mappings ordered host by host,
// uneven ranks per host refused with the hosts and ranks named; random mappings always give same-host TP groups.
#include "comm/host_placement.h"

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace kachi {
namespace {

using Hosts = std::vector<std::string>;

TEST(HostPlacementTest, BySlotKeepsTheIdentity) {
  auto order = PlaceByHost({"a", "a", "b", "b"}, 2);
  ASSERT_TRUE(order.ok()) << order.status();
  EXPECT_EQ(*order, (std::vector<int>{0, 1, 2, 3}));
  // tp 1: any mapping is fine as it is.
  order = PlaceByHost({"a", "b", "a", "b"}, 1);
  ASSERT_TRUE(order.ok());
  EXPECT_EQ(*order, (std::vector<int>{0, 1, 2, 3}));
}

TEST(HostPlacementTest, ByNodeIsOrderedHostByHost) {
  auto order = PlaceByHost({"kn1", "kn2", "kn1", "kn2"}, 2);
  ASSERT_TRUE(order.ok()) << order.status();
  EXPECT_EQ(*order, (std::vector<int>{0, 2, 1, 3}));
  // 4 hosts x 2 ranks by node, tp 2.
  order = PlaceByHost({"h1", "h2", "h3", "h4", "h1", "h2", "h3", "h4"}, 2);
  ASSERT_TRUE(order.ok());
  EXPECT_EQ(*order, (std::vector<int>{0, 4, 1, 5, 2, 6, 3, 7}));
}

TEST(HostPlacementTest, UnevenButDivisibleHostsArePlaced) {
  // b holds 4 ranks, a and c 2 each, scattered; tp 2.
  auto order = PlaceByHost({"b", "a", "b", "c", "b", "a", "b", "c"}, 2);
  ASSERT_TRUE(order.ok()) << order.status();
  EXPECT_EQ(*order, (std::vector<int>{0, 2, 4, 6, 1, 5, 3, 7}));
}

TEST(HostPlacementTest, UnevenHostsAreRefusedByName) {
  auto order = PlaceByHost({"kn1", "kn1", "kn1", "kn2"}, 2);
  ASSERT_FALSE(order.ok());
  EXPECT_EQ(order.status().code(), absl::StatusCode::kFailedPrecondition);
  const std::string message(order.status().message());
  EXPECT_NE(message.find("kn1 (3 ranks: 0, 1, 2), kn2 (1 rank: 3)"), std::string::npos) << message;
  EXPECT_NE(message.find("kn1: ranks 0, 1, 2 | kn2: rank 3"), std::string::npos) << message;
  // Not a multiple of tp at all.
  EXPECT_FALSE(PlaceByHost({"a", "a", "a"}, 2).ok());
  EXPECT_FALSE(PlaceByHost({"a", "a"}, 0).ok());
}

// Random host assignments: whenever every host holds a multiple of tp ranks, the order is a permutation whose TP
// groups each lie on one host, and it is the identity when the identity already fits; otherwise it is refused.
TEST(HostPlacementTest, RandomMappingsNeverStraddle) {
  std::mt19937 rng(std::random_device{}());
  for (int trial = 0; trial < 500; ++trial) {
    const int tp = 1 << (rng() % 3);
    const int hosts = 1 + rng() % 4;
    const int ranks = tp * (1 + rng() % 6);
    Hosts assignment(ranks);
    std::vector<int> count(hosts, 0);
    for (auto& h : assignment) {
      const int host = rng() % hosts;
      h = absl::StrCat("host", host);
      ++count[host];
    }
    const bool feasible = std::all_of(count.begin(), count.end(), [&](int c) { return c % tp == 0; });
    auto order = PlaceByHost(assignment, tp);
    ASSERT_EQ(order.ok(), feasible) << trial;
    if (!feasible) continue;
    std::vector<int> sorted = *order;
    std::sort(sorted.begin(), sorted.end());
    for (int r = 0; r < ranks; ++r) ASSERT_EQ(sorted[r], r);
    bool identity_fits = true;
    for (int g = 0; g < ranks; ++g) {
      ASSERT_EQ(assignment[(*order)[g]], assignment[(*order)[g - g % tp]]) << "trial " << trial << " grid rank " << g;
      identity_fits = identity_fits && assignment[g] == assignment[g - g % tp];
    }
    if (identity_fits) {
      for (int g = 0; g < ranks; ++g) ASSERT_EQ((*order)[g], g);
    }
  }
}

}  // namespace
}  // namespace kachi
