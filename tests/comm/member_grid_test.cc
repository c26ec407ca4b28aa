// Multi-rank tests (4 ranks) of the pieces the asynchronous lanes executor stands on: CreateMemberGrid builds a
// grid among its members only (while other ranks are busy elsewhere, or build their own grid at the same time, in
// any member order), and ControlChannel moves tagged messages point to point, from any source, between threads,
// and gives up on a silent peer with an error that names it instead of hanging.
#include <mpi.h>

#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "comm/control_channel.h"
#include "comm/member_grid.h"
#include "comm/mpi_communicator.h"
#include "comm/watchdog.h"
#include "gtest/gtest.h"

namespace kachi {
namespace {

class MemberGridTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(InitMpi(nullptr, nullptr).ok());
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
    if (size_ != 4) GTEST_SKIP() << "needs 4 ranks, has " << size_;
  }
  void TearDown() override { EXPECT_EQ(Watchdog::Get().in_flight(), 0u); }

  // A member grid of `members` with short deadlines.
  absl::StatusOr<std::unique_ptr<ProcessGrid>> Grid(const std::vector<int>& members, int tp, int tag) {
    MemberGridOptions options;
    options.host = "one-host";
    options.tp = tp;
    options.comm.deadline = absl::Seconds(20);
    options.comm.name = absl::StrCat("members", tag);
    options.tag = tag;
    return CreateMemberGrid(MPI_COMM_WORLD, members, options);
  }

  int rank_ = 0;
  int size_ = 0;
};

// Two disjoint grids built at the same time, members listed out of rank order: grid rank i is member i, and sums
// stay inside each grid.
TEST_F(MemberGridTest, DisjointGridsAtOnceInMemberOrder) {
  const std::vector<int> members = rank_ < 2 ? std::vector<int>{1, 0} : std::vector<int>{3, 2};
  absl::StatusOr<std::unique_ptr<ProcessGrid>> grid = Grid(members, 1, rank_ < 2 ? 1 : 2);
  ASSERT_TRUE(grid.ok()) << grid.status();
  ProcessGrid& g = **grid;
  EXPECT_EQ(g.world().size(), 2);
  EXPECT_EQ(g.dp_size(), 2);
  EXPECT_EQ(members[g.world().rank()], rank_);
  int64_t value = rank_ + 1;
  int64_t sum = 0;
  ASSERT_TRUE(g.world().AllReduce(&value, &sum, 1, DType::kInt64, ReduceOp::kSum).ok());
  EXPECT_EQ(sum, rank_ < 2 ? 1 + 2 : 3 + 4);
}

// A grid of three ranks with tp = 1 is built and used while rank 3 takes no part: it only waits for a message that
// the grid's members send after their collective. A world-collective creation would deadlock here (and fail by
// the watchdog's deadline).
TEST_F(MemberGridTest, OtherRanksTakeNoPart) {
  absl::StatusOr<std::unique_ptr<ControlChannel>> channel =
      ControlChannel::Create(MPI_COMM_WORLD, "test", absl::Seconds(20));
  ASSERT_TRUE(channel.ok()) << channel.status();
  if (rank_ == 3) {
    absl::StatusOr<ControlMessage> message = (*channel)->Receive(0, 7);
    ASSERT_TRUE(message.ok()) << message.status();
    EXPECT_EQ(message->bytes, "sum 6");
  } else {
    absl::StatusOr<std::unique_ptr<ProcessGrid>> grid = Grid({0, 1, 2}, 1, 3);
    ASSERT_TRUE(grid.ok()) << grid.status();
    int64_t value = rank_ + 1;
    int64_t sum = 0;
    ASSERT_TRUE((*grid)->world().AllReduce(&value, &sum, 1, DType::kInt64, ReduceOp::kSum).ok());
    EXPECT_EQ(sum, 6);
    if (rank_ == 0) ASSERT_TRUE((*channel)->Send(3, 7, absl::StrCat("sum ", sum)).ok());
  }
  MPI_Barrier(MPI_COMM_WORLD);
}

// tp = 2 over all four ranks: two replicas of two; and the errors: a non-member, repeated members, a bad tp.
TEST_F(MemberGridTest, TensorParallelShapeAndErrors) {
  absl::StatusOr<std::unique_ptr<ProcessGrid>> grid = Grid({0, 1, 2, 3}, 2, 4);
  ASSERT_TRUE(grid.ok()) << grid.status();
  EXPECT_EQ((*grid)->tp_size(), 2);
  EXPECT_EQ((*grid)->dp_size(), 2);
  EXPECT_EQ((*grid)->tp_rank(), rank_ % 2);
  EXPECT_EQ((*grid)->dp_rank(), rank_ / 2);

  absl::StatusOr<std::unique_ptr<ProcessGrid>> not_member = Grid({(rank_ + 1) % 4}, 1, 5);
  ASSERT_FALSE(not_member.ok());
  EXPECT_NE(not_member.status().message().find("not a member"), std::string::npos) << not_member.status();
  absl::StatusOr<std::unique_ptr<ProcessGrid>> repeated = Grid({rank_, rank_}, 1, 6);
  EXPECT_FALSE(repeated.ok());
  absl::StatusOr<std::unique_ptr<ProcessGrid>> bad_tp = Grid({rank_}, 0, 8);
  EXPECT_FALSE(bad_tp.ok());
  MPI_Barrier(MPI_COMM_WORLD);
}

// Point to point with tags, from any source, while another thread receives another tag on the same channel.
TEST_F(MemberGridTest, ControlChannelTagsAnySourceAndThreads) {
  absl::StatusOr<std::unique_ptr<ControlChannel>> created =
      ControlChannel::Create(MPI_COMM_WORLD, "test", absl::Seconds(20));
  ASSERT_TRUE(created.ok()) << created.status();
  ControlChannel& channel = **created;
  // Every rank (rank 0 included) sends its number to rank 0 on tag 2; meanwhile a second thread of rank 0 waits
  // for tag 1, which rank 0 sends itself after the tag-2 messages are in.
  EXPECT_TRUE(channel.Send(0, 2, absl::StrCat("rank ", rank_)).ok());
  if (rank_ == 0) {
    std::optional<absl::StatusOr<ControlMessage>> own;
    std::thread receiver([&] { own = channel.Receive(0, 1); });
    std::vector<bool> seen(4, false);
    for (int i = 0; i < 4; ++i) {
      absl::StatusOr<ControlMessage> message = channel.Receive(ControlChannel::kAnySource, 2);
      EXPECT_TRUE(message.ok()) << message.status();
      if (!message.ok()) break;
      EXPECT_EQ(message->tag, 2);
      EXPECT_EQ(message->bytes, absl::StrCat("rank ", message->source));
      seen[message->source] = true;
    }
    EXPECT_TRUE(channel.Send(0, 1, "to myself").ok());
    receiver.join();
    ASSERT_TRUE(own.has_value() && own->ok());
    EXPECT_EQ((*own)->bytes, "to myself");
    EXPECT_EQ(seen, std::vector<bool>(4, true));
  }
  MPI_Barrier(MPI_COMM_WORLD);
}

// A peer that never sends: Receive gives up after its timeout with a message naming the peer and tag, and Poll
// returns nothing.
TEST_F(MemberGridTest, ControlChannelSilentPeer) {
  absl::StatusOr<std::unique_ptr<ControlChannel>> created =
      ControlChannel::Create(MPI_COMM_WORLD, "silent", absl::Seconds(20));
  ASSERT_TRUE(created.ok()) << created.status();
  const absl::Time start = absl::Now();
  absl::StatusOr<ControlMessage> message = (*created)->Receive((rank_ + 1) % 4, 9, absl::Milliseconds(200));
  ASSERT_FALSE(message.ok());
  EXPECT_TRUE(absl::IsDeadlineExceeded(message.status())) << message.status();
  EXPECT_NE(message.status().message().find(absl::StrCat("from rank ", (rank_ + 1) % 4)), std::string::npos)
      << message.status();
  EXPECT_NE(message.status().message().find("tag 9"), std::string::npos) << message.status();
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(200));
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
  absl::StatusOr<std::optional<ControlMessage>> polled =
      (*created)->Poll(ControlChannel::kAnySource, 9, absl::Milliseconds(10));
  ASSERT_TRUE(polled.ok());
  EXPECT_FALSE(polled->has_value());
  MPI_Barrier(MPI_COMM_WORLD);
}

}  // namespace
}  // namespace kachi
