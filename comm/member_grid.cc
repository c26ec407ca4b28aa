// CreateMemberGrid (see member_grid.h): MPI_Comm_create_group under a watchdog deadline, then a backend
// communicator over the new group, adopted as a ProcessGrid.
#include "comm/member_grid.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "comm/mpi_communicator.h"
#include "comm/nccl_communicator.h"
#include "comm/watchdog.h"
#include "kernels/base/status_macros.h"

namespace kachi {

absl::StatusOr<std::unique_ptr<ProcessGrid>> CreateMemberGrid(MPI_Comm parent, const std::vector<int>& members,
                                                              const MemberGridOptions& options) {
  int parent_rank = 0;
  int parent_size = 0;
  MPI_Comm_rank(parent, &parent_rank);
  MPI_Comm_size(parent, &parent_size);
  const std::string label = absl::StrCat("member grid '", options.comm.name, "' [", absl::StrJoin(members, ","), "]");
  std::vector<int> sorted = members;
  std::sort(sorted.begin(), sorted.end());
  if (members.empty() || std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end() || sorted.front() < 0 ||
      sorted.back() >= parent_size) {
    return absl::InvalidArgumentError(absl::StrCat(label, ": members must be distinct ranks of the ", parent_size,
                                                   " in the parent"));
  }
  const auto mine = std::find(members.begin(), members.end(), parent_rank);
  if (mine == members.end()) {
    return absl::InvalidArgumentError(absl::StrCat(label, ": rank ", parent_rank, " is not a member"));
  }
  if (options.tag < 0 || options.tag > 32767) {
    return absl::InvalidArgumentError(absl::StrCat(label, ": tag ", options.tag, " is outside [0, 32767]"));
  }
  MPI_Group parent_group = MPI_GROUP_NULL;
  MPI_Group group = MPI_GROUP_NULL;
  MPI_Comm_group(parent, &parent_group);
  MPI_Group_incl(parent_group, static_cast<int>(members.size()), members.data(), &group);
  MPI_Group_free(&parent_group);

  // The group creation is a collective among the members: a member that never comes ends the job by the watchdog.
  CollectiveRecord record;
  record.comm_name = options.comm.name;
  record.rank = static_cast<int>(mine - members.begin());
  record.size = static_cast<int>(members.size());
  record.backend = "mpi";
  record.kind = CollectiveKind::kSplit;
  record.started = absl::Now();
  record.deadline = record.started + options.comm.deadline;
  const uint64_t token = Watchdog::Get().Begin(record);
  MPI_Comm raw = MPI_COMM_NULL;
  const int result = MPI_Comm_create_group(parent, group, options.tag, &raw);
  Watchdog::Get().End(token);
  MPI_Group_free(&group);
  if (result != MPI_SUCCESS || raw == MPI_COMM_NULL) {
    return absl::InternalError(absl::StrCat(label, ": MPI_Comm_create_group failed"));
  }
  absl::StatusOr<std::unique_ptr<Communicator>> world =
      options.backend == "nccl" ? CreateNcclCommunicator(raw, options.device, options.comm)
                                : CreateMpiCommunicator(raw, options.comm);  // both keep no reference to `raw`
  MPI_Comm_free(&raw);
  KACHI_RETURN_IF_ERROR(world);
  return ProcessGrid::Adopt(*std::move(world), options.tp, options.host);
}

}  // namespace kachi
