// Host placement: where each rank of a grid goes, from the host every rank really runs on (discovery's host name,
// gathered from all ranks), never from arithmetic on rank numbers. A dp x tp grid needs each TP group (tp
// consecutive grid ranks) on one host; PlaceByHost orders the ranks so that holds, or says which hosts and ranks
// make it impossible.
#ifndef KACHI_COMM_HOST_PLACEMENT_H_
#define KACHI_COMM_HOST_PLACEMENT_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "comm/communicator.h"

namespace kachi {

// The grid order of ranks 0..hosts.size()-1, where hosts[r] is the host of rank r: order[g] is the rank that takes
// grid rank g. When the identity order already keeps every TP group of `tp` consecutive ranks on one host it is
// returned unchanged (so by-slot mappings keep their numbering); otherwise ranks are ordered host by host (hosts in
// order of their lowest rank, ranks ascending within a host), e.g. --map-by node on 2 hosts x 2 ranks:
// hosts {a, b, a, b}, tp 2 -> {0, 2, 1, 3}. Errors (FailedPrecondition) when tp <= 0, hosts.size() is not a multiple
// of tp, or some host holds a number of ranks that is not a multiple of tp (then no placement keeps every TP group
// on one host); the message names each such host with its ranks.
absl::StatusOr<std::vector<int>> PlaceByHost(const std::vector<std::string>& hosts, int tp);

// Collective over `comm`: the host name of every rank (this rank passes its own `host`), in rank order. Names are
// exchanged in fixed 64-byte slots; longer names are shortened to a prefix plus a hash of the whole name.
absl::StatusOr<std::vector<std::string>> GatherHosts(Communicator& comm, const std::string& host);

// "a: ranks 0, 2 | b: ranks 1, 3": the ranks of every host (hosts in order of their lowest rank), for messages.
std::string DescribeHosts(const std::vector<std::string>& hosts);

}  // namespace kachi

#endif  // KACHI_COMM_HOST_PLACEMENT_H_
