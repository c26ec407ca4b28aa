// PoolOnHosts (see pool_topology.h): contiguous equal host blocks become the pool's nodes.
#include "launcher/lanes/pool_topology.h"

#include "absl/strings/str_cat.h"
#include "comm/host_placement.h"

namespace kachi::lanes {

absl::StatusOr<PoolShape> PoolOnHosts(PoolShape pool, const std::vector<std::string>& hosts) {
  if (pool.cards_per_node > 0 || pool.cards <= 0) return pool;
  if (static_cast<int>(hosts.size()) < pool.cards) {
    return absl::InvalidArgumentError(absl::StrCat("lanes pool: ", pool.cards, " cards but hosts of ", hosts.size(),
                                                   " ranks"));
  }
  const std::vector<std::string> cards(hosts.begin(), hosts.begin() + pool.cards);
  int block = 0;
  while (block < pool.cards && cards[block] == cards[0]) ++block;
  bool regular = pool.cards % block == 0;
  for (int c = 0; regular && c < pool.cards; ++c) {
    regular = cards[c] == cards[c - c % block];
  }
  // A host that reappears after another one (a, b, a) is not a block either.
  for (int c = block; regular && c < pool.cards; c += block) {
    for (int earlier = 0; earlier < c; earlier += block) regular = regular && cards[earlier] != cards[c];
  }
  if (!regular) {
    return absl::FailedPreconditionError(absl::StrCat(
        "lanes pool: cards_per_node = 0 takes the nodes from the hosts, which need the same number of ranks each, "
        "numbered host by host (mpirun --map-by slot, srun's default); the hosts are ",
        DescribeHosts(cards), " (or set pool.cards_per_node)"));
  }
  pool.cards_per_node = block == pool.cards ? 0 : block;
  return pool;
}

}  // namespace kachi::lanes
