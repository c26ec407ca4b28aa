// QuietBarrier: a barrier over an MPI communicator that sleeps while it waits (MPI_Ibarrier polled every 200 us)
// instead of spinning like a blocking MPI call. `kachi bench scaling` parks the ranks outside the measured
// sub-world in it, so that on a box with fewer cores than ranks they leave the cores to the ranks being measured.
#ifndef KACHI_BENCH_SCALING_QUIET_WAIT_H_
#define KACHI_BENCH_SCALING_QUIET_WAIT_H_

#include <mpi.h>

namespace kachi {

// Returns once every rank of `comm` has called it.
void QuietBarrier(MPI_Comm comm);

}  // namespace kachi

#endif  // KACHI_BENCH_SCALING_QUIET_WAIT_H_
