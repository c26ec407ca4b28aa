// CreateMemberGrid: a ProcessGrid over an explicit list of ranks, built among those ranks only (the other ranks of
// the job take no part and may be busy with other grids meanwhile). The lanes executor gives each lane a grid of
// its member cards this way: MPI_Comm_create_group over the members, then the MPI backend on it, or NCCL
// bootstrapped over it (the unique id goes from the first member to the others over the members' communicator).
#ifndef KACHI_COMM_MEMBER_GRID_H_
#define KACHI_COMM_MEMBER_GRID_H_

#include <mpi.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "comm/communicator.h"
#include "comm/process_grid.h"

namespace kachi {

// How to build a member grid.
struct MemberGridOptions {
  // The host this rank runs on (discovery's host name): a TP group must lie inside one host
  // (ProcessGrid orders the members by host where needed; comm/host_placement.h).
  std::string host;
  // Tensor-parallel width (dp = members / tp).
  int tp = 1;
  // "mpi" or "nccl" (CUDA builds; needs `device`).
  std::string backend = "mpi";
  // The CUDA device of this rank (NCCL only).
  int device = -1;
  // Deadline and name of the grid's world communicator (its groups are "<name>/dp" and "<name>/tp").
  CommOptions comm;
  // Tag that tells apart grids being created at the same time over overlapping ranks (any value in [0, 32767]);
  // every member passes the same one.
  int tag = 0;
};

// Collective over the ranks `members` of `parent` (in that order: member i is grid rank i, unless a TP group would
// straddle hosts: then members are ordered host by host), called by each of
// them and by no other rank. The group creation runs under the watchdog with options.comm.deadline. Errors when
// this rank is not a member, members repeat or leave the parent, or as ProcessGrid::Adopt.
absl::StatusOr<std::unique_ptr<ProcessGrid>> CreateMemberGrid(MPI_Comm parent, const std::vector<int>& members,
                                                              const MemberGridOptions& options);

}  // namespace kachi

#endif  // KACHI_COMM_MEMBER_GRID_H_
