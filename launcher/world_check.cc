// Launcher-vs-MPI consistency check (see world_check.h).
#include "launcher/world_check.h"

#include "absl/strings/str_cat.h"
#include "kernels/base/mpi_status.h"

namespace kachi {
absl::StatusOr<MpiWorldView> MeasureMpiWorld() {
  MpiWorldView view;
  int rc = MPI_Comm_rank(MPI_COMM_WORLD, &view.rank);
  if (rc != MPI_SUCCESS) return base::MpiStatus(rc, "MPI_Comm_rank");
  MPI_Comm_size(MPI_COMM_WORLD, &view.size);
  MPI_Comm node_comm = MPI_COMM_NULL;
  rc = MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, view.rank, MPI_INFO_NULL, &node_comm);
  if (rc != MPI_SUCCESS) return base::MpiStatus(rc, "MPI_Comm_split_type(MPI_COMM_TYPE_SHARED)");
  MPI_Comm_rank(node_comm, &view.local_rank);
  MPI_Comm_size(node_comm, &view.local_size);
  // Node leaders (local rank 0) number the nodes in world-rank order and tell their node.
  MPI_Comm leaders = MPI_COMM_NULL;
  rc = MPI_Comm_split(MPI_COMM_WORLD, view.local_rank == 0 ? 0 : MPI_UNDEFINED, view.rank, &leaders);
  if (rc != MPI_SUCCESS) return base::MpiStatus(rc, "MPI_Comm_split(node leaders)");
  int node_index = 0;
  if (leaders != MPI_COMM_NULL) {
    MPI_Comm_rank(leaders, &node_index);
    MPI_Comm_free(&leaders);
  }
  MPI_Bcast(&node_index, 1, MPI_INT, 0, node_comm);
  view.node_index = node_index;
  MPI_Comm_free(&node_comm);
  return view;
}

absl::StatusOr<WorldInfo> ReconcileWithMpi(const WorldInfo& discovered, const MpiWorldView& mpi) {
  WorldInfo world = discovered;
  if (discovered.source == "single" && mpi.size > 1) {
    world.source = "mpi";
    world.rank = mpi.rank;
    world.world_size = mpi.size;
    world.local_rank = mpi.local_rank;
    world.local_size = mpi.local_size;
    world.node_index = mpi.node_index;
    return world;
  }
  const std::string size_from =
      discovered.size_variable.empty() ? discovered.source : discovered.size_variable;
  if (discovered.world_size > 0 && discovered.world_size != mpi.size) {
    return absl::FailedPreconditionError(absl::StrCat(
        "launcher and MPI disagree on the world size: ", size_from, "=", discovered.world_size,
        " but MPI_Comm_size(MPI_COMM_WORLD)=", mpi.size,
        (mpi.size == 1 ? "; each process started its own one-rank MPI job (under Slurm use srun --mpi=pmix, or "
                         "mpirun inside the allocation)"
                       : "")));
  }
  if (discovered.rank != mpi.rank) {
    return absl::FailedPreconditionError(absl::StrCat("launcher and MPI disagree on this process's rank: ",
                                                      discovered.source, " says ", discovered.rank,
                                                      " but MPI_Comm_rank(MPI_COMM_WORLD)=", mpi.rank));
  }
  if (discovered.local_size > 0 && discovered.local_size != mpi.local_size) {
    return absl::FailedPreconditionError(absl::StrCat(
        "launcher and MPI disagree on the ranks of this node: ", discovered.source, " says ", discovered.local_size,
        " but MPI's shared-memory group has ", mpi.local_size));
  }
  if (discovered.local_rank >= 0 && discovered.local_rank != mpi.local_rank) {
    return absl::FailedPreconditionError(absl::StrCat(
        "launcher and MPI disagree on the local rank: ", discovered.source, " says ", discovered.local_rank,
        " but MPI's shared-memory group says ", mpi.local_rank));
  }
  world.world_size = mpi.size;
  world.local_rank = mpi.local_rank;
  world.local_size = mpi.local_size;
  if (world.node_index < 0) world.node_index = mpi.node_index;
  return world;
}

}  // namespace kachi
