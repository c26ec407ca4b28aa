// Multi-rank tests (2 and 4 ranks) of Split with colors and keys (negative color included), MpiCommOf, InitMpi on
// an initialized MPI, and ProcessGrid: every (dp, tp) shape, membership, dp/tp all-reduce sums, errors, Carve.
#include <mpi.h>

#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "comm/mpi_communicator.h"
#include "comm/process_grid.h"
#include "comm/watchdog.h"
#include "gtest/gtest.h"

namespace kachi {
namespace {

bool Contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// Rank `rank`'s random contribution in a test seeded with `seed` (every rank can compute every other's).
int64_t ValueOf(int rank, uint64_t seed) {
  std::mt19937_64 gen(seed * 131 + rank);
  return std::uniform_int_distribution<int64_t>(1, int64_t{1} << 30)(gen);
}

class MpiSplitGridTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(InitMpi(nullptr, nullptr).ok()) << "InitMpi must accept an MPI already initialized multi-threaded";
    auto comm = CreateMpiCommunicator(MPI_COMM_WORLD, CommOptions{});
    ASSERT_TRUE(comm.ok()) << comm.status();
    world_ = *std::move(comm);
  }
  void TearDown() override { EXPECT_EQ(Watchdog::Get().in_flight(), 0u); }

  // Sum over `comm` of ValueOf(world rank, seed) for this rank.
  int64_t SumOver(Communicator& comm, uint64_t seed) {
    int64_t mine = ValueOf(world_->rank(), seed);
    int64_t sum = 0;
    EXPECT_TRUE(comm.AllReduce(&mine, &sum, 1, DType::kInt64, ReduceOp::kSum).ok());
    return sum;
  }

  std::unique_ptr<Communicator> world_;
};

TEST_F(MpiSplitGridTest, MpiCommOfIsCongruentWithTheWorld) {
  MPI_Comm comm = MpiCommOf(*world_);
  ASSERT_NE(comm, MPI_COMM_NULL);
  int result = MPI_UNEQUAL;
  MPI_Comm_compare(comm, MPI_COMM_WORLD, &result);
  EXPECT_EQ(result, MPI_CONGRUENT);
  EXPECT_EQ(world_->backend(), "mpi");
  EXPECT_FALSE(world_->wants_device_buffers());
}

TEST_F(MpiSplitGridTest, SplitGroupsByColorOrdersByKeyAndExcludesNegativeColors) {
  const int rank = world_->rank();
  const int size = world_->size();
  // Rank 0 opts out; the others split by parity, ordered by descending world rank (key = -rank).
  const int color = rank == 0 ? -1 : rank % 2;
  auto split = world_->Split(color, -rank);
  ASSERT_TRUE(split.ok()) << split.status();
  if (rank == 0) {
    EXPECT_EQ(*split, nullptr);
    return;
  }
  ASSERT_NE(*split, nullptr);
  std::vector<int> members;
  for (int r = size - 1; r >= 1; --r) {
    if (r % 2 == color) members.push_back(r);
  }
  EXPECT_EQ((*split)->size(), static_cast<int>(members.size()));
  int expected_rank = 0;
  while (members[expected_rank] != rank) ++expected_rank;
  EXPECT_EQ((*split)->rank(), expected_rank);
  EXPECT_EQ((*split)->options().name, absl::StrCat("world/split", color));
  const uint64_t seed = 77;
  int64_t expected = 0;
  for (int member : members) expected += ValueOf(member, seed);
  EXPECT_EQ(SumOver(**split, seed), expected);
  EXPECT_NE(MpiCommOf(**split), MPI_COMM_NULL);
}

TEST_F(MpiSplitGridTest, GridOfEveryShapeHasTheRightGroups) {
  const int size = world_->size();
  const int rank = world_->rank();
  for (int tp = 1; tp <= size; ++tp) {
    if (size % tp != 0) continue;
    const int dp = size / tp;
    SCOPED_TRACE(absl::StrCat("dp ", dp, " tp ", tp));
    auto grid = ProcessGrid::Create(*world_, dp, tp, /*ranks_per_node=*/size);
    ASSERT_TRUE(grid.ok()) << grid.status();
    ProcessGrid& g = **grid;
    EXPECT_EQ(g.dp_size(), dp);
    EXPECT_EQ(g.tp_size(), tp);
    EXPECT_EQ(g.dp_rank() * tp + g.tp_rank(), rank);
    EXPECT_EQ(g.world().rank(), rank);
    EXPECT_EQ(g.world().size(), size);
    EXPECT_EQ(g.dp().size(), dp);
    EXPECT_EQ(g.dp().rank(), g.dp_rank());
    EXPECT_EQ(g.tp().size(), tp);
    EXPECT_EQ(g.tp().rank(), g.tp_rank());
    EXPECT_EQ(g.dp().options().name, "world/dp");
    EXPECT_EQ(g.tp().options().name, "world/tp");
    const uint64_t seed = 1000 + tp;
    int64_t dp_expected = 0;
    for (int d = 0; d < dp; ++d) dp_expected += ValueOf(d * tp + g.tp_rank(), seed);
    int64_t tp_expected = 0;
    for (int t = 0; t < tp; ++t) tp_expected += ValueOf(g.dp_rank() * tp + t, seed);
    EXPECT_EQ(SumOver(g.dp(), seed), dp_expected);
    EXPECT_EQ(SumOver(g.tp(), seed), tp_expected);
  }
}

TEST_F(MpiSplitGridTest, GridRejectsBadShapes) {
  const int size = world_->size();
  auto mismatch = ProcessGrid::Create(*world_, size, 2, size);
  EXPECT_EQ(mismatch.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_PRED2(Contains, std::string(mismatch.status().message()), absl::StrCat("does not match the ", size));
  auto zero = ProcessGrid::Create(*world_, size, 0, size);
  EXPECT_EQ(zero.status().code(), absl::StatusCode::kInvalidArgument);
  // tp = 2 does not divide 3 ranks per node: a TP group could straddle two nodes.
  auto straddle = ProcessGrid::Create(*world_, size / 2, 2, 3);
  EXPECT_EQ(straddle.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_PRED2(Contains, std::string(straddle.status().message()), "does not divide ranks_per_node = 3");
  EXPECT_EQ(world_->sequence(), 0u) << "argument errors must be found before any collective";
}

TEST_F(MpiSplitGridTest, CarveBuildsGridsOverSubsetsAndSkipsNonMembers) {
  const int rank = world_->rank();
  const int size = world_->size();
  // Lanes by parity; on 4 ranks the last rank sits out (members {0, 2} and {1}).
  const bool sits_out = size == 4 && rank == size - 1;
  const int color = sits_out ? -1 : rank % 2;
  auto grid = ProcessGrid::Carve(*world_, color, /*tp=*/1, /*ranks_per_node=*/size);
  ASSERT_TRUE(grid.ok()) << grid.status();
  if (sits_out) {
    EXPECT_EQ(*grid, nullptr);
    return;
  }
  ASSERT_NE(*grid, nullptr);
  std::vector<int> members;
  for (int r = 0; r < size; ++r) {
    if (r % 2 == color && !(size == 4 && r == size - 1)) members.push_back(r);
  }
  ProcessGrid& g = **grid;
  EXPECT_EQ(g.world().size(), static_cast<int>(members.size()));
  EXPECT_EQ(g.dp_size(), static_cast<int>(members.size()));
  EXPECT_EQ(g.tp_size(), 1);
  EXPECT_EQ(g.world().options().name, absl::StrCat("world/carve", color));
  const uint64_t seed = 4242;
  int64_t expected = 0;
  for (int member : members) expected += ValueOf(member, seed);
  EXPECT_EQ(SumOver(g.dp(), seed), expected);
  EXPECT_EQ(SumOver(g.tp(), seed), ValueOf(rank, seed));
}

TEST_F(MpiSplitGridTest, CarvedTpGroupMustStayOnOneNode) {
  const int rank = world_->rank();
  const int size = world_->size();
  if (size != 4) GTEST_SKIP() << "needs 4 ranks (two nodes of 2)";
  // Members {1, 2} with 2 ranks per node: ranks 1 and 2 are on nodes 0 and 1, so tp = 2 spans nodes.
  const bool member = rank == 1 || rank == 2;
  auto spanning = ProcessGrid::Carve(*world_, member ? 0 : -1, 2, 2);
  if (member) {
    EXPECT_EQ(spanning.status().code(), absl::StatusCode::kFailedPrecondition) << spanning.status();
    EXPECT_PRED2(Contains, std::string(spanning.status().message()), "spans several nodes");
  } else {
    ASSERT_TRUE(spanning.ok());
    EXPECT_EQ(*spanning, nullptr);
  }
  // Members {2, 3} share node 1: fine, one TP group of 2.
  const bool on_node1 = rank >= 2;
  auto fine = ProcessGrid::Carve(*world_, on_node1 ? 5 : -1, 2, 2);
  ASSERT_TRUE(fine.ok()) << fine.status();
  if (on_node1) {
    ASSERT_NE(*fine, nullptr);
    EXPECT_EQ((*fine)->tp_rank(), rank - 2);
    EXPECT_EQ((*fine)->dp_size(), 1);
    EXPECT_EQ(SumOver((*fine)->tp(), 9), ValueOf(2, 9) + ValueOf(3, 9));
  }
}

}  // namespace
}  // namespace kachi
