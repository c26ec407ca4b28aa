// Failure messages in world ranks and host names, built on the side channel (comm/side_channel.h) and the flight
// recorder (comm/flight_recorder.h):
//   - a late collective: the rank whose deadline fires asks every rank for its flight record and names, by world
//     rank and host, the ranks that do not answer (stopped or unreachable), died, left, or have not reached the
//     collective (with where each of them is instead); exit 86;
//   - a peer whose side-channel connection closes without a goodbye: "PEER LOST world rank R (host H)", and when
//     every rank of another host is gone (dead, or silent at a deadline), "HOST LOST H (world ranks ...)"; exit 87.
#ifndef KACHI_COMM_FAILURE_WATCH_H_
#define KACHI_COMM_FAILURE_WATCH_H_

#include <mpi.h>

#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "comm/watchdog.h"

namespace kachi {

// Collective over `world`: starts the side channel, names this rank in watchdog messages and reports lost peers.
// An error leaves the job running without the side channel.
absl::Status StartFailureWatch(MPI_Comm world);

// The watchdog's peer report for `record` in world ranks ("; stopped or unreachable (no answer): world rank 1
// (host a) ..."), or "" when the side channel is off or `record` is not a recorded collective in flight. Ends the
// job itself (exit 87) when every rank of another host is silent or dead.
std::string DescribeLateCollective(const CollectiveRecord& record);

// "kachi: HOST LOST h (world ranks 6, 7) ..." / "kachi: PEER LOST world rank 3 (host h) ..." for ranks `dead` (every
// rank's host in `hosts`) seen by rank `self`; hosts other than self's whose every rank is in `dead` are lost.
std::string PeerLossMessage(const std::vector<int>& dead, const std::vector<std::string>& hosts, int self);

// The hosts other than `self`'s whose every rank is in `gone`, each with its ranks.
std::map<std::string, std::vector<int>> LostHosts(const std::vector<int>& gone, const std::vector<std::string>& hosts,
                                                  int self);

}  // namespace kachi

#endif  // KACHI_COMM_FAILURE_WATCH_H_
