// What a communicator tells the flight recorder (comm/flight_recorder.h), shared by the MPI and NCCL backends:
// marks of a collective entered and completed on its PeerProgress (completion may come later and from another
// thread, as the NCCL backend's completion events do), and its members as MPI_COMM_WORLD ranks, either of an MPI
// communicator or of a split of a recorded communicator (ncclCommSplit's rule: same color, ordered by key, then by
// rank in the parent).
#ifndef KACHI_COMM_COMM_RECORD_H_
#define KACHI_COMM_COMM_RECORD_H_

#include <mpi.h>

#include <cstdint>
#include <vector>

#include "comm/communicator.h"
#include "comm/mpi_peer_status.h"

namespace kachi {

// Marks collective `sequence` of `kind` entered on `progress` (and stamps it as the process's latest entry).
void MarkCollectiveEntered(PeerProgress& progress, int64_t sequence, CollectiveKind kind);
// Marks collective `sequence` completed; never moves `completed` backwards (completions may be seen out of order).
void MarkCollectiveCompleted(PeerProgress& progress, int64_t sequence);

// The MPI_COMM_WORLD ranks of `comm`'s members, in `comm` rank order.
std::vector<int> MpiWorldRanks(MPI_Comm comm);

// The world ranks of the child that parent rank `parent_rank` joins when every parent rank r (world rank
// parent_world[r]) splits with colors[r] and keys[r]: the ranks of its color ordered by (key, parent rank). Empty
// when its color is negative (no child) or the inputs disagree in size or `parent_rank` is out of range.
std::vector<int> SplitWorldRanks(const std::vector<int>& parent_world, const std::vector<int>& colors,
                                 const std::vector<int>& keys, int parent_rank);

}  // namespace kachi

#endif  // KACHI_COMM_COMM_RECORD_H_
