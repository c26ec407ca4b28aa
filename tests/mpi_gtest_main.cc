// main() for multi-rank GoogleTest binaries run under mpirun: initializes MPI with MPI_THREAD_MULTIPLE, lets rank 0
// print the usual gtest output, prefixes other ranks' failures with their rank, and exits 1 on every rank if any rank
// failed, else 77 on every rank if any rank skipped a GPU test for want of a device (ctest: "Skipped" through
// SKIP_RETURN_CODE 77; tests/gpu_skip.h), else 0.
#include <mpi.h>

#include <cstdio>

#include "gtest/gtest.h"
#include "tests/gpu_skip.h"

namespace {

// Prints only failed assertions, tagged with the rank (used on ranks other than 0).
class RankFailurePrinter : public ::testing::EmptyTestEventListener {
 public:
  explicit RankFailurePrinter(int rank) : rank_(rank) {}
  void OnTestPartResult(const ::testing::TestPartResult& result) override {
    if (!result.failed()) return;
    std::fprintf(stderr, "[rank %d] %s:%d: Failure\n%s\n", rank_, result.file_name() ? result.file_name() : "?",
                 result.line_number(), result.summary());
  }

 private:
  int rank_;
};

}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  int provided = 0;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (rank != 0) {
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
    listeners.Append(new RankFailurePrinter(rank));
  }
  auto* counter = new ::kachi::testing::GpuSkipCounter();  // owned by gtest's listener list
  ::testing::UnitTest::GetInstance()->listeners().Append(counter);
  int local[2] = {RUN_ALL_TESTS() != 0 ? 1 : 0, counter->skipped()};
  int any[2] = {0, 0};
  MPI_Allreduce(local, any, 2, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  if (rank == 0 && any[0] && !local[0]) std::fprintf(stderr, "a rank other than 0 failed (see above)\n");
  MPI_Finalize();
  // Only rank 0 explains a skip; every rank returns the same code.
  if (rank != 0) return any[0] ? 1 : (any[1] ? ::kachi::testing::kSkipExitCode : 0);
  return ::kachi::testing::GpuAwareExitCode(any[0] != 0, any[1]);
}
