// The set-up of the tests that train on one rank (run under mpirun -np 1): MPI_COMM_WORLD as a communicator and a
// 1 x 1 process grid over it, created together and owned together.
#ifndef KACHI_TESTS_LIB_SINGLE_RANK_GRID_H_
#define KACHI_TESTS_LIB_SINGLE_RANK_GRID_H_

#include <mpi.h>

#include <memory>
#include <utility>

#include "absl/status/statusor.h"
#include "comm/communicator.h"
#include "comm/mpi_communicator.h"
#include "comm/process_grid.h"
#include "kernels/base/status_macros.h"

namespace kachi::testing {

// A world communicator (MPI_COMM_WORLD, default CommOptions) and the 1 x 1 grid (no host name) built over it. The
// grid is declared last so that it is destroyed first.
struct SingleRankGrid {
  std::unique_ptr<Communicator> world;
  std::unique_ptr<ProcessGrid> grid;
};

// Creates the world and its 1 x 1 grid; the error of the step that failed.
inline absl::StatusOr<SingleRankGrid> CreateSingleRankGrid() {
  KACHI_ASSIGN_OR_RETURN(std::unique_ptr<Communicator> world, CreateMpiCommunicator(MPI_COMM_WORLD, CommOptions{}));
  KACHI_ASSIGN_OR_RETURN(std::unique_ptr<ProcessGrid> grid, ProcessGrid::Create(*world, 1, 1, /*host=*/""));
  return SingleRankGrid{std::move(world), std::move(grid)};
}

}  // namespace kachi::testing

#endif  // KACHI_TESTS_LIB_SINGLE_RANK_GRID_H_
