// A sleeping barrier (see quiet_wait.h).
#include "bench/scaling/quiet_wait.h"

#include <chrono>
#include <thread>

namespace kachi {

void QuietBarrier(MPI_Comm comm) {
  MPI_Request request;
  MPI_Ibarrier(comm, &request);
  int done = 0;
  MPI_Test(&request, &done, MPI_STATUS_IGNORE);
  while (!done) {
    std::this_thread::sleep_for(std::chrono::microseconds(200));
    MPI_Test(&request, &done, MPI_STATUS_IGNORE);
  }
}

}  // namespace kachi
