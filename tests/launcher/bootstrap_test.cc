// Bootstrap under mpirun: the session matches MPI, its world communicator works with the configured deadline,
// and a failure on one rank becomes an error on every rank (no rank left waiting).
#include "launcher/bootstrap.h"

#include <mpi.h>

#include <random>
#include <vector>

#include "absl/strings/str_cat.h"
#include "comm/nccl_communicator.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "kernels/base/device_buffer.h"
#include "runtime/config/device_binding.h"
#include "tests/test_util.h"

namespace kachi {
namespace {

using ::testing::HasSubstr;

int MpiRank() {
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  return rank;
}
int MpiSize() {
  int size = 0;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  return size;
}

// This process's real inputs, but with no GPUs, so the test behaves the same on GPU and CPU machines.
BootstrapInputs CpuInputs() {
  BootstrapInputs inputs = ProcessInputs();
  inputs.device_count = 0;
  return inputs;
}

TEST(BootstrapTest, SessionMatchesMpiAndItsCommunicatorReduces) {
  config::KachiConfig config;
  config.mutable_comm()->set_deadline_s(37.5);
  auto session = Bootstrap(config, CpuInputs());
  ASSERT_TRUE(session.ok()) << session.status();
  const Session& s = **session;
  EXPECT_EQ(s.world.source, "openmpi");
  EXPECT_EQ(s.world.rank, MpiRank());
  EXPECT_EQ(s.world.world_size, MpiSize());
  EXPECT_EQ(s.world.local_size, MpiSize()) << "every rank of this test runs on one machine";
  EXPECT_EQ(s.world.node_index, 0);
  EXPECT_EQ(s.device, -1);
  EXPECT_EQ(s.backend, "mpi");
  ASSERT_NE(s.world_comm, nullptr);
  EXPECT_EQ(s.world_comm->size(), MpiSize());
  EXPECT_EQ(s.world_comm->rank(), MpiRank());
  EXPECT_EQ(s.world_comm->options().deadline, absl::Seconds(37.5));

  // Sum of every rank's seeded random vector, checked against the sum computed here from the same seeds.
  const size_t n = 1000;
  std::vector<float> mine(n);
  std::vector<double> expected(n, 0.0);
  for (int r = 0; r < MpiSize(); ++r) {
    std::mt19937_64 gen(1000 + r);
    std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
    for (size_t i = 0; i < n; ++i) {
      const float v = dist(gen);
      expected[i] += v;
      if (r == MpiRank()) mine[i] = v;
    }
  }
  std::vector<float> sum(n);
  ASSERT_TRUE(s.world_comm->AllReduce(mine.data(), sum.data(), n, DType::kFloat32, ReduceOp::kSum).ok());
  for (size_t i = 0; i < n; ++i) ASSERT_NEAR(sum[i], expected[i], 1e-4) << i;
}

TEST(BootstrapTest, LauncherClaimingAnotherWorldSizeFailsOnEveryRank) {
  BootstrapInputs inputs = CpuInputs();
  inputs.env["OMPI_COMM_WORLD_SIZE"] = absl::StrCat(MpiSize() + 3);
  auto session = Bootstrap(config::KachiConfig(), inputs);
  ASSERT_FALSE(session.ok());
  EXPECT_THAT(std::string(session.status().message()),
              HasSubstr(absl::StrCat("OMPI_COMM_WORLD_SIZE=", MpiSize() + 3)));
  EXPECT_THAT(std::string(session.status().message()),
              HasSubstr(absl::StrCat("MPI_Comm_size(MPI_COMM_WORLD)=", MpiSize())));
}

TEST(BootstrapTest, FailureOnOneRankIsReportedOnAll) {
  if (MpiSize() < 2) GTEST_SKIP() << "needs at least 2 ranks";
  // Rank 1 alone sees one GPU for its MpiSize() local ranks, without sharing allowed: only it fails to bind.
  BootstrapInputs inputs = CpuInputs();
  if (MpiRank() == 1) inputs.device_count = 1;
  auto session = Bootstrap(config::KachiConfig(), inputs);
  ASSERT_FALSE(session.ok());
  const std::string message(session.status().message());
  if (MpiRank() == 1) {
    EXPECT_THAT(message, HasSubstr("visible CUDA device(s)"));
  } else {
    EXPECT_TRUE(absl::IsAborted(session.status())) << session.status();
    EXPECT_THAT(message, HasSubstr("because rank 1 failed"));
  }
}

TEST(BootstrapTest, NcclWithoutDeviceIsRefused) {
  config::KachiConfig config;
  config.mutable_comm()->set_backend(config::CommConfig::NCCL);
  auto session = Bootstrap(config, CpuInputs());
  ASSERT_FALSE(session.ok());
  EXPECT_THAT(std::string(session.status().message()), HasSubstr("NCCL"));
}

#ifdef KACHI_WITH_CUDA
// With one GPU per rank, the default (auto) backend binds device local_rank and reduces device buffers with NCCL.
TEST(BootstrapGpuTest, AutoBindsOwnGpuAndReducesWithNccl) {
  KACHI_SKIP_WITHOUT_GPU();
  KACHI_SKIP_WITHOUT_GPUS(MpiSize());  // one GPU per rank
  auto session = Bootstrap(config::KachiConfig());
  ASSERT_TRUE(session.ok()) << session.status();
  const Session& s = **session;
  EXPECT_EQ(s.device, s.world.local_rank);
  ASSERT_EQ(s.backend, NcclAvailable() ? "nccl" : "mpi");
  int current = -1;
  ASSERT_EQ(cudaGetDevice(&current), cudaSuccess);
  EXPECT_EQ(current, s.device);

  const size_t n = 4096;
  std::vector<float> mine = ::kachi::testing::RandomFloats(n, 500 + MpiRank());
  std::vector<float> expected(n, 0.0f);
  for (int r = 0; r < MpiSize(); ++r) {
    std::vector<float> theirs = ::kachi::testing::RandomFloats(n, 500 + r);
    for (size_t i = 0; i < n; ++i) expected[i] += theirs[i];
  }
  absl::StatusOr<base::DeviceBuffer> device = base::DeviceBuffer::Allocate(n * sizeof(float));
  ASSERT_TRUE(device.ok()) << device.status();
  float* buffer = device->as<float>();
  ASSERT_EQ(cudaMemcpy(buffer, mine.data(), n * sizeof(float), cudaMemcpyHostToDevice), cudaSuccess);
  ASSERT_TRUE(s.world_comm->AllReduce(buffer, buffer, n, DType::kFloat32, ReduceOp::kSum).ok());
  ASSERT_TRUE(s.world_comm->Synchronize().ok());
  std::vector<float> sum(n);
  ASSERT_EQ(cudaMemcpy(sum.data(), buffer, n * sizeof(float), cudaMemcpyDeviceToHost), cudaSuccess);
  for (size_t i = 0; i < n; ++i) ASSERT_NEAR(sum[i], expected[i], 1e-4) << i;
}
#endif

}  // namespace
}  // namespace kachi
