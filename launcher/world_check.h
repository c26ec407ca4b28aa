// Cross-checks what the launcher's variables said (launcher/discovery.h) against what MPI itself reports once it
// has started, and fills the fields only MPI knows. A scheduler that says N ranks while MPI says otherwise (e.g.
// srun without a working --mpi plugin starts N separate one-rank MPI jobs) is an error, never a silent world of 1.
#ifndef KACHI_LAUNCHER_WORLD_CHECK_H_
#define KACHI_LAUNCHER_WORLD_CHECK_H_

#include <mpi.h>

#include <string>

#include "absl/status/statusor.h"
#include "launcher/discovery.h"

namespace kachi {

// The world as MPI sees it: MPI_COMM_WORLD plus its split into shared-memory (per-node) groups.
struct MpiWorldView {
  int rank = 0;        // MPI_Comm_rank(MPI_COMM_WORLD)
  int size = 1;        // MPI_Comm_size(MPI_COMM_WORLD)
  int local_rank = 0;  // rank in this node's MPI_COMM_TYPE_SHARED group
  int local_size = 1;  // size of that group
  int node_index = 0;  // index of this node (nodes numbered by their lowest world rank)
};

// Collective over MPI_COMM_WORLD (MPI must be initialized): measures MpiWorldView.
absl::StatusOr<MpiWorldView> MeasureMpiWorld();

// Returns `discovered` with unknown fields (-1) taken from `mpi`. Errors name the launcher's variable and MPI's
// value when they disagree on world size, rank, local rank or local size. A "single" discovery under an MPI world
// larger than one (a launcher kachi does not recognise) adopts MPI's numbers with source "mpi".
absl::StatusOr<WorldInfo> ReconcileWithMpi(const WorldInfo& discovered, const MpiWorldView& mpi);

}  // namespace kachi

#endif  // KACHI_LAUNCHER_WORLD_CHECK_H_
