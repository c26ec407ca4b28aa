// PoolOnHosts (launcher/lanes/pool_topology.h): cards_per_node 0 takes the nodes from the real hosts.
#include "launcher/lanes/pool_topology.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace kachi::lanes {
namespace {

PoolShape Pool(int cards, int per_node) {
  PoolShape pool;
  pool.cards = cards;
  pool.cards_per_node = per_node;
  return pool;
}

TEST(PoolTopologyTest, HostBlocksBecomeNodes) {
  auto pool = PoolOnHosts(Pool(4, 0), {"kn1", "kn1", "kn2", "kn2"});
  ASSERT_TRUE(pool.ok()) << pool.status();
  EXPECT_EQ(pool->cards_per_node, 2);
  EXPECT_EQ(pool->Nodes(), 2);
  pool = PoolOnHosts(Pool(4, 0), {"a", "a", "a", "a"});
  ASSERT_TRUE(pool.ok());
  EXPECT_EQ(pool->Nodes(), 1);
  // Only the pool's cards count (rank 4 is not a card).
  pool = PoolOnHosts(Pool(4, 0), {"a", "a", "b", "b", "c"});
  ASSERT_TRUE(pool.ok());
  EXPECT_EQ(pool->cards_per_node, 2);
}

TEST(PoolTopologyTest, ExplicitCardsPerNodeIsKept) {
  auto pool = PoolOnHosts(Pool(4, 4), {"a", "b", "a", "b"});
  ASSERT_TRUE(pool.ok());
  EXPECT_EQ(pool->cards_per_node, 4);
}

TEST(PoolTopologyTest, InterleavedOrUnevenHostsAreRefused) {
  for (const std::vector<std::string>& hosts : std::vector<std::vector<std::string>>{
           {"kn1", "kn2", "kn1", "kn2"}, {"a", "a", "a", "b"}, {"a", "b", "b", "a"}}) {
    auto pool = PoolOnHosts(Pool(4, 0), hosts);
    ASSERT_FALSE(pool.ok()) << hosts[0] << hosts[1] << hosts[2] << hosts[3];
    EXPECT_EQ(pool.status().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_NE(std::string(pool.status().message()).find(hosts[0] + ": rank"), std::string::npos)
        << pool.status();
  }
}

}  // namespace
}  // namespace kachi::lanes
