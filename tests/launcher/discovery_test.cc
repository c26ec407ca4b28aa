// Rank discovery from launcher variables: every source, legitimate overlaps, contradictions, missing pieces.
#include "launcher/discovery.h"

#include <random>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace kachi {
namespace {

using ::testing::HasSubstr;

constexpr char kHost[] = "testhost";

// A random (rank, size) pair with size in [2, 64], seeded per test.
struct RankAndSize {
  int rank;
  int size;
};
RankAndSize RandomRank(uint64_t seed) {
  std::mt19937_64 gen(seed);
  const int size = std::uniform_int_distribution<int>(2, 64)(gen);
  return {std::uniform_int_distribution<int>(0, size - 1)(gen), size};
}

TEST(DiscoveryTest, EmptyEnvironmentIsSingleProcess) {
  auto world = DiscoverWorld({}, kHost);
  ASSERT_TRUE(world.ok()) << world.status();
  EXPECT_EQ(world->source, "single");
  EXPECT_EQ(world->rank, 0);
  EXPECT_EQ(world->world_size, 1);
  EXPECT_EQ(world->local_rank, 0);
  EXPECT_EQ(world->local_size, 1);
  EXPECT_EQ(world->node_name, kHost);
}

TEST(DiscoveryTest, OpenMpiVariables) {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    const auto [rank, size] = RandomRank(seed);
    const int local_size = 1 + static_cast<int>(seed % 8);
    const int local_rank = rank % local_size;
    EnvMap env = {{"OMPI_COMM_WORLD_RANK", absl::StrCat(rank)},
                  {"OMPI_COMM_WORLD_SIZE", absl::StrCat(size)},
                  {"OMPI_COMM_WORLD_LOCAL_RANK", absl::StrCat(local_rank)},
                  {"OMPI_COMM_WORLD_LOCAL_SIZE", absl::StrCat(std::min(local_size, size))},
                  {"PMIX_RANK", absl::StrCat(rank)}};
    if (local_rank >= std::min(local_size, size)) continue;
    auto world = DiscoverWorld(env, kHost);
    ASSERT_TRUE(world.ok()) << world.status();
    EXPECT_EQ(world->source, "openmpi");
    EXPECT_EQ(world->rank, rank);
    EXPECT_EQ(world->world_size, size);
    EXPECT_EQ(world->local_rank, local_rank);
    EXPECT_EQ(world->node_index, -1) << "OpenMPI names no node index; bootstrap takes it from MPI";
  }
}

TEST(DiscoveryTest, OpenMpiWithoutLocalVariablesLeavesThemToMpi) {
  auto world = DiscoverWorld({{"OMPI_COMM_WORLD_RANK", "5"}, {"OMPI_COMM_WORLD_SIZE", "7"}}, kHost);
  ASSERT_TRUE(world.ok()) << world.status();
  EXPECT_EQ(world->local_rank, -1);
  EXPECT_EQ(world->local_size, -1);
}

TEST(DiscoveryTest, OpenMpiMissingSizeIsAnError) {
  auto world = DiscoverWorld({{"OMPI_COMM_WORLD_RANK", "3"}, {"OMPI_COMM_WORLD_LOCAL_RANK", "1"}}, kHost);
  ASSERT_FALSE(world.ok());
  EXPECT_THAT(std::string(world.status().message()), HasSubstr("OMPI_COMM_WORLD_SIZE missing"));
}

TEST(DiscoveryTest, MpirunInsideSlurmAllocationFollowsOpenMpi) {
  // OpenMPI's daemons run as a one-task-per-node srun step: SLURM_PROCID is the node, not kachi's rank.
  EnvMap env = {{"OMPI_COMM_WORLD_RANK", "3"},      {"OMPI_COMM_WORLD_SIZE", "4"},
                {"OMPI_COMM_WORLD_LOCAL_RANK", "1"}, {"OMPI_COMM_WORLD_LOCAL_SIZE", "2"},
                {"PMIX_RANK", "3"},                  {"SLURM_PROCID", "1"},
                {"SLURM_STEP_NUM_TASKS", "2"},       {"SLURM_NTASKS", "4"},
                {"SLURM_NODEID", "1"},               {"SLURM_LOCALID", "0"}};
  auto world = DiscoverWorld(env, kHost);
  ASSERT_TRUE(world.ok()) << world.status();
  EXPECT_EQ(world->source, "openmpi");
  EXPECT_EQ(world->rank, 3);
  EXPECT_EQ(world->world_size, 4);
  EXPECT_EQ(world->local_rank, 1);
}

TEST(DiscoveryTest, OpenMpiAndPmixDisagreeingIsAnError) {
  EnvMap env = {{"OMPI_COMM_WORLD_RANK", "3"}, {"OMPI_COMM_WORLD_SIZE", "4"}, {"PMIX_RANK", "1"}};
  auto world = DiscoverWorld(env, kHost);
  ASSERT_FALSE(world.ok());
  const std::string message(world.status().message());
  EXPECT_THAT(message, HasSubstr("OMPI_COMM_WORLD_RANK=3"));
  EXPECT_THAT(message, HasSubstr("PMIX_RANK=1"));
}

TEST(DiscoveryTest, SlurmStepVariables) {
  // Node 2 of "3(x2),2": the third node runs 2 tasks.
  EnvMap env = {{"SLURM_PROCID", "7"},       {"SLURM_STEP_NUM_TASKS", "8"}, {"SLURM_NTASKS", "16"},
                {"SLURM_LOCALID", "1"},      {"SLURM_NODEID", "2"},         {"SLURM_STEP_TASKS_PER_NODE", "3(x2),2"},
                {"SLURMD_NODENAME", "gpu17"}, {"PMIX_RANK", "7"}};
  auto world = DiscoverWorld(env, kHost);
  ASSERT_TRUE(world.ok()) << world.status();
  EXPECT_EQ(world->source, "slurm");
  EXPECT_EQ(world->rank, 7);
  EXPECT_EQ(world->world_size, 8) << "the step's task count wins over the allocation's";
  EXPECT_EQ(world->size_variable, "SLURM_STEP_NUM_TASKS");
  EXPECT_EQ(world->local_rank, 1);
  EXPECT_EQ(world->local_size, 2);
  EXPECT_EQ(world->node_index, 2);
  EXPECT_EQ(world->node_name, "gpu17");
}

TEST(DiscoveryTest, SlurmStepAndPmixDisagreeingIsAnError) {
  EnvMap env = {{"SLURM_PROCID", "1"}, {"SLURM_STEP_NUM_TASKS", "2"}, {"PMIX_RANK", "0"}};
  auto world = DiscoverWorld(env, kHost);
  ASSERT_FALSE(world.ok());
  EXPECT_THAT(std::string(world.status().message()), HasSubstr("SLURM_PROCID=1"));
  EXPECT_THAT(std::string(world.status().message()), HasSubstr("PMIX_RANK=0"));
}

TEST(DiscoveryTest, SlurmBatchStepReportsTheAllocationSize) {
  // A batch script that runs kachi without srun: bootstrap then sees MPI_Comm_size 1 and refuses.
  auto world = DiscoverWorld({{"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "4"}, {"SLURM_NODEID", "0"}}, kHost);
  ASSERT_TRUE(world.ok()) << world.status();
  EXPECT_EQ(world->source, "slurm");
  EXPECT_EQ(world->world_size, 4);
  EXPECT_EQ(world->size_variable, "SLURM_NTASKS");
}

TEST(DiscoveryTest, SlurmStepWithoutProcIdIsAnError) {
  auto world = DiscoverWorld({{"SLURM_STEP_NUM_TASKS", "2"}}, kHost);
  ASSERT_FALSE(world.ok());
  EXPECT_THAT(std::string(world.status().message()), HasSubstr("SLURM_PROCID is missing"));
}

TEST(DiscoveryTest, PmiVariables) {
  const auto [rank, size] = RandomRank(42);
  EnvMap env = {{"PMI_RANK", absl::StrCat(rank)}, {"PMI_SIZE", absl::StrCat(size)}, {"MPI_LOCALRANKID", "0"},
                {"MPI_LOCALNRANKS", "1"}};
  auto world = DiscoverWorld(env, kHost);
  ASSERT_TRUE(world.ok()) << world.status();
  EXPECT_EQ(world->source, "pmi");
  EXPECT_EQ(world->rank, rank);
  EXPECT_EQ(world->world_size, size);
  EXPECT_EQ(world->local_size, 1);
}

TEST(DiscoveryTest, PmiWithoutSizeIsAnError) {
  auto world = DiscoverWorld({{"PMI_RANK", "2"}}, kHost);
  ASSERT_FALSE(world.ok());
  EXPECT_THAT(std::string(world.status().message()), HasSubstr("PMI_SIZE missing"));
}

TEST(DiscoveryTest, PmiInsideSrunStepOfTheSameSizeMustAgree) {
  EnvMap agree = {{"PMI_RANK", "1"}, {"PMI_SIZE", "2"}, {"SLURM_PROCID", "1"}, {"SLURM_STEP_NUM_TASKS", "2"}};
  auto world = DiscoverWorld(agree, kHost);
  ASSERT_TRUE(world.ok()) << world.status();
  EXPECT_EQ(world->source, "slurm");
  EnvMap disagree = agree;
  disagree["PMI_RANK"] = "0";
  EXPECT_FALSE(DiscoverWorld(disagree, kHost).ok());
}

TEST(DiscoveryTest, HydraInsideAnAllocationFollowsPmi) {
  // mpiexec (Hydra) started its proxies as a 2-task srun step; the 8 ranks are PMI's.
  EnvMap env = {{"PMI_RANK", "5"}, {"PMI_SIZE", "8"}, {"SLURM_PROCID", "1"}, {"SLURM_STEP_NUM_TASKS", "2"}};
  auto world = DiscoverWorld(env, kHost);
  ASSERT_TRUE(world.ok()) << world.status();
  EXPECT_EQ(world->source, "pmi");
  EXPECT_EQ(world->rank, 5);
  EXPECT_EQ(world->world_size, 8);
}

TEST(DiscoveryTest, PmixAloneLeavesTheSizeToMpi) {
  auto world = DiscoverWorld({{"PMIX_RANK", "3"}}, kHost);
  ASSERT_TRUE(world.ok()) << world.status();
  EXPECT_EQ(world->source, "pmix");
  EXPECT_EQ(world->rank, 3);
  EXPECT_EQ(world->world_size, -1);
}

TEST(DiscoveryTest, NonIntegerValueNamesTheVariable) {
  auto world = DiscoverWorld({{"OMPI_COMM_WORLD_RANK", "two"}, {"OMPI_COMM_WORLD_SIZE", "4"}}, kHost);
  ASSERT_FALSE(world.ok());
  EXPECT_THAT(std::string(world.status().message()), HasSubstr("OMPI_COMM_WORLD_RANK='two'"));
}

TEST(DiscoveryTest, RankOutsideTheWorldIsAnError) {
  auto world = DiscoverWorld({{"SLURM_PROCID", "4"}, {"SLURM_STEP_NUM_TASKS", "4"}}, kHost);
  ASSERT_FALSE(world.ok());
  EXPECT_THAT(std::string(world.status().message()), HasSubstr("SLURM_STEP_NUM_TASKS=4"));
  auto local = DiscoverWorld({{"OMPI_COMM_WORLD_RANK", "1"}, {"OMPI_COMM_WORLD_SIZE", "4"},
                              {"OMPI_COMM_WORLD_LOCAL_RANK", "2"}, {"OMPI_COMM_WORLD_LOCAL_SIZE", "2"}},
                             kHost);
  ASSERT_FALSE(local.ok());
  EXPECT_THAT(std::string(local.status().message()), HasSubstr("local rank 2 of 2"));
}

TEST(TasksOnNodeTest, ExpandsRepeats) {
  EXPECT_EQ(*TasksOnNode("2(x3),1", 0), 2);
  EXPECT_EQ(*TasksOnNode("2(x3),1", 2), 2);
  EXPECT_EQ(*TasksOnNode("2(x3),1", 3), 1);
  EXPECT_EQ(*TasksOnNode("4", 0), 4);
  EXPECT_TRUE(absl::IsOutOfRange(TasksOnNode("2(x3),1", 4).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(TasksOnNode("2(3)", 0).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(TasksOnNode("x", 0).status()));
}

TEST(DiscoveryTest, MalformedSlurmTaskListIsAnError) {
  EnvMap env = {{"SLURM_PROCID", "0"}, {"SLURM_STEP_NUM_TASKS", "2"}, {"SLURM_NODEID", "0"},
                {"SLURM_STEP_TASKS_PER_NODE", "two"}};
  auto world = DiscoverWorld(env, kHost);
  ASSERT_FALSE(world.ok());
  EXPECT_THAT(std::string(world.status().message()), HasSubstr("SLURM_STEP_TASKS_PER_NODE"));
}

}  // namespace
}  // namespace kachi
