// The lanes pool's nodes from the job's real topology (issue 14): with pool.cards_per_node = 0 the hosts the ranks
// run on (discovery, gathered) decide how cards group into nodes, so TP lanes are placed inside a host and widen
// onto cards of the same host first (CardPool::FindGangs works node by node).
#ifndef KACHI_LAUNCHER_LANES_POOL_TOPOLOGY_H_
#define KACHI_LAUNCHER_LANES_POOL_TOPOLOGY_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "launcher/lanes/policy_types.h"

namespace kachi::lanes {

// `pool` with cards_per_node resolved from hosts[r], the host of job rank r (card r). A pool that names
// cards_per_node (> 0) is kept as written (member grids still refuse a TP lane that straddles hosts). With 0: one
// node when the pool's cards share a host, else the common block size when the cards are numbered host by host in
// equal blocks (mpirun --map-by slot, srun's block distribution). Errors (FailedPrecondition, naming hosts and
// ranks) when the cards interleave hosts or hosts hold unequal counts.
absl::StatusOr<PoolShape> PoolOnHosts(PoolShape pool, const std::vector<std::string>& hosts);

}  // namespace kachi::lanes

#endif  // KACHI_LAUNCHER_LANES_POOL_TOPOLOGY_H_
