// Launcher-vs-MPI reconciliation: agreement fills unknown fields; every disagreement is an error naming both.
#include "launcher/world_check.h"

#include <random>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace kachi {
namespace {

using ::testing::HasSubstr;

// A WorldInfo as the OpenMPI reader produces it (node index unknown).
WorldInfo OpenMpiWorld(int rank, int size, int local_rank, int local_size) {
  return {rank, size, local_rank, local_size, -1, "host", "openmpi", "OMPI_COMM_WORLD_SIZE"};
}

TEST(WorldCheckTest, AgreementFillsUnknownFields) {
  std::mt19937_64 gen(7);
  for (int trial = 0; trial < 20; ++trial) {
    const int size = std::uniform_int_distribution<int>(1, 32)(gen);
    const int rank = std::uniform_int_distribution<int>(0, size - 1)(gen);
    const int node = std::uniform_int_distribution<int>(1, 9)(gen);
    MpiWorldView mpi{rank, size, 0, 1, node};
    auto world = ReconcileWithMpi(OpenMpiWorld(rank, size, -1, -1), mpi);
    ASSERT_TRUE(world.ok()) << world.status();
    EXPECT_EQ(world->node_index, node);
    EXPECT_EQ(world->local_rank, 0);
    EXPECT_EQ(world->local_size, 1);
  }
}

TEST(WorldCheckTest, SchedulerSaysMoreRanksThanMpi) {
  WorldInfo slurm{1, 2, 1, 2, 0, "host", "slurm", "SLURM_STEP_NUM_TASKS"};
  auto world = ReconcileWithMpi(slurm, MpiWorldView{0, 1, 0, 1, 0});
  ASSERT_FALSE(world.ok());
  const std::string message(world.status().message());
  EXPECT_THAT(message, HasSubstr("SLURM_STEP_NUM_TASKS=2"));
  EXPECT_THAT(message, HasSubstr("MPI_Comm_size(MPI_COMM_WORLD)=1"));
  EXPECT_THAT(message, HasSubstr("srun --mpi=pmix"));
}

TEST(WorldCheckTest, RankDisagreementIsAnError) {
  auto world = ReconcileWithMpi(OpenMpiWorld(2, 4, -1, -1), MpiWorldView{3, 4, 1, 2, 1});
  ASSERT_FALSE(world.ok());
  EXPECT_THAT(std::string(world.status().message()), HasSubstr("MPI_Comm_rank(MPI_COMM_WORLD)=3"));
}

TEST(WorldCheckTest, LocalDisagreementIsAnError) {
  auto size = ReconcileWithMpi(OpenMpiWorld(1, 4, 1, 4), MpiWorldView{1, 4, 1, 2, 0});
  ASSERT_FALSE(size.ok());
  EXPECT_THAT(std::string(size.status().message()), HasSubstr("shared-memory group has 2"));
  auto rank = ReconcileWithMpi(OpenMpiWorld(1, 4, 0, 2), MpiWorldView{1, 4, 1, 2, 0});
  ASSERT_FALSE(rank.ok());
  EXPECT_THAT(std::string(rank.status().message()), HasSubstr("local rank"));
}

TEST(WorldCheckTest, PmixTakesTheSizeFromMpi) {
  WorldInfo pmix{3, -1, -1, -1, -1, "host", "pmix", ""};
  auto world = ReconcileWithMpi(pmix, MpiWorldView{3, 6, 1, 2, 1});
  ASSERT_TRUE(world.ok()) << world.status();
  EXPECT_EQ(world->world_size, 6);
  EXPECT_EQ(world->node_index, 1);
  EXPECT_FALSE(ReconcileWithMpi(pmix, MpiWorldView{2, 6, 0, 2, 1}).ok());
}

TEST(WorldCheckTest, UnrecognisedLauncherAdoptsMpi) {
  WorldInfo single{0, 1, 0, 1, 0, "host", "single", ""};
  auto world = ReconcileWithMpi(single, MpiWorldView{2, 3, 0, 1, 2});
  ASSERT_TRUE(world.ok()) << world.status();
  EXPECT_EQ(world->source, "mpi");
  EXPECT_EQ(world->rank, 2);
  EXPECT_EQ(world->world_size, 3);
  EXPECT_EQ(world->node_index, 2);
}

}  // namespace
}  // namespace kachi
