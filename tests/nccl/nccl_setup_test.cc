// Creation of NCCL communicators where they cannot exist: CPU-only builds report Unavailable, GPU-less machines
// report Unavailable on every rank (no rank left waiting), and a device index beyond the visible ones is named in
// the error. Runs at 1 and 2 ranks on any machine.
#include <mpi.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "comm/nccl_communicator.h"
#include "gtest/gtest.h"
#include "tests/test_util.h"

namespace kachi {
namespace {

TEST(NcclSetupTest, AvailabilityMatchesTheBuild) {
#ifdef KACHI_WITH_CUDA
  EXPECT_TRUE(NcclAvailable());
#else
  EXPECT_FALSE(NcclAvailable());
#endif
}

TEST(NcclSetupTest, NoDeviceOrNoNcclIsUnavailableOnEveryRank) {
  if (NcclAvailable() && testing::CudaDeviceCount() > 0) {
    GTEST_SKIP() << "a CUDA device is visible: the no-device path cannot be exercised here";
  }
  absl::StatusOr<std::unique_ptr<Communicator>> comm = CreateNcclCommunicator(MPI_COMM_WORLD, 0, CommOptions());
  ASSERT_FALSE(comm.ok());
  EXPECT_EQ(comm.status().code(), absl::StatusCode::kUnavailable) << comm.status();
  // Every rank must get here (no rank blocked in a later set-up step): a barrier proves it.
  EXPECT_EQ(MPI_Barrier(MPI_COMM_WORLD), MPI_SUCCESS);
}

TEST(NcclSetupTest, DeviceBeyondTheVisibleOnesIsNamed) {
#ifndef KACHI_WITH_CUDA  // (NcclAvailable() <=> KACHI_WITH_CUDA: AvailabilityMatchesTheBuild)
  GTEST_SKIP() << "CPU-only build: no NCCL backend";
#else
  KACHI_SKIP_WITHOUT_GPU();  // the no-device path: NoDeviceOrNoNcclIsUnavailableOnEveryRank
#endif
  const int devices = testing::CudaDeviceCount();
  absl::StatusOr<std::unique_ptr<Communicator>> comm =
      CreateNcclCommunicator(MPI_COMM_WORLD, devices + 3, CommOptions());
  ASSERT_FALSE(comm.ok());
  EXPECT_EQ(comm.status().code(), absl::StatusCode::kInvalidArgument) << comm.status();
  EXPECT_TRUE(absl::StrContains(comm.status().message(), absl::StrCat("CUDA device ", devices + 3)))
      << comm.status();
}

TEST(NcclSetupTest, NullBootstrapIsRejected) {
  if (!NcclAvailable()) GTEST_SKIP() << "CPU-only build: no NCCL backend";
  absl::StatusOr<std::unique_ptr<Communicator>> comm = CreateNcclCommunicator(MPI_COMM_NULL, 0, CommOptions());
  ASSERT_FALSE(comm.ok());
  EXPECT_EQ(comm.status().code(), absl::StatusCode::kInvalidArgument) << comm.status();
}

}  // namespace
}  // namespace kachi
