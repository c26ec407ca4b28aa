// Where this process sits in the job, read from the launcher's environment variables before MPI starts: OpenMPI's
// mpirun (OMPI_COMM_WORLD_*), Slurm's srun (SLURM_*), MPICH/Intel PMI (PMI_RANK/PMI_SIZE), PMIx (PMIX_RANK) or
// none (a single process). A pure function of the environment so every launcher can be tested without it.
//
// Legitimate overlaps: mpirun inside an sbatch/salloc allocation sees both OMPI_* and SLURM_* (the SLURM_* then
// describe the allocation or the step that started OpenMPI's daemons, not kachi's ranks), and OpenMPI and Slurm's
// PMIx plugin also export PMIX_RANK. Overlaps that disagree about the same rank are errors that name the variables.
#ifndef KACHI_LAUNCHER_DISCOVERY_H_
#define KACHI_LAUNCHER_DISCOVERY_H_

#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace kachi {

// Environment variables by name (a snapshot of the process environment, or a test's).
using EnvMap = std::map<std::string, std::string, std::less<>>;

// This process's place in the world. Fields the launcher does not provide are -1 until bootstrap fills them from
// MPI (launcher/world_check.h); node_name falls back to the host name.
struct WorldInfo {
  int rank = 0;              // global rank in [0, world_size)
  int world_size = 1;        // number of ranks in the job (-1: unknown until MPI starts)
  int local_rank = 0;        // rank among the ranks on this node (-1: unknown until MPI starts)
  int local_size = 1;        // ranks on this node (-1: unknown until MPI starts)
  int node_index = 0;        // index of this node in the job (-1: unknown until MPI starts)
  std::string node_name;     // host name of this node
  std::string source;        // "openmpi", "slurm", "pmi", "pmix" or "single" (or "mpi", set by bootstrap)
  std::string size_variable; // the variable world_size came from (for messages); empty when none
};

// The current process environment.
EnvMap ProcessEnvironment();

// The host name of this machine (gethostname), "unknown" when it fails.
std::string HostName();

// Reads WorldInfo from `env`; `host_name` is used when the launcher names no node. Errors (InvalidArgument) when a
// variable is not an integer, a rank is out of range, a launcher's variables are incomplete (e.g. PMI_RANK without
// PMI_SIZE), or two launchers disagree about this process's rank.
absl::StatusOr<WorldInfo> DiscoverWorld(const EnvMap& env, absl::string_view host_name);

// Number of tasks on node `node_index` from a Slurm task-count list such as "2(x3),1" (3 nodes with 2 tasks, then
// one with 1). Errors on malformed lists or an index past the end.
absl::StatusOr<int> TasksOnNode(absl::string_view tasks_per_node, int node_index);

// One line describing `world` for logs ("rank 1/4 local 1/2 node 0 (host) via openmpi").
std::string DescribeWorld(const WorldInfo& world);

}  // namespace kachi

#endif  // KACHI_LAUNCHER_DISCOVERY_H_
