// Multi-rank tests of the MPI backend (run under mpirun at 2 and 4 ranks): every collective x every dtype x sizes
// 0, 1, 1031 and >= 1 MiB, in place and out of place, sum/avg/max, against a reference each rank computes from
// every rank's seeded random input (tolerances in mpi_test_data.h); broadcast from every root; barrier.
#include <mpi.h>

#include <chrono>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "comm/mpi_communicator.h"
#include "comm/watchdog.h"
#include "gtest/gtest.h"
#include "tests/comm/mpi_test_data.h"

namespace kachi {
namespace {

using ::kachi::testing::Bytes;
using ::kachi::testing::ExpectReduced;
using ::kachi::testing::Garbage;
using ::kachi::testing::InputsOfAllRanks;

// Whether the n bytes at a and b are equal; n == 0 is equal even for the null pointers of empty buffers (memcmp
// with a null pointer is undefined, which UBSan reports).
bool SameBytes(const void* a, const void* b, size_t n) { return n == 0 || std::memcmp(a, b, n) == 0; }

constexpr ReduceOp kOps[] = {ReduceOp::kSum, ReduceOp::kAvg, ReduceOp::kMax};

// Element counts per rank: empty, one, a prime, and enough that the whole operation moves >= 1 MiB (`ranks`
// divides that size for the chunked collectives).
std::vector<size_t> Counts(DType dtype, int ranks) {
  return {0, 1, 1031, (size_t{1} << 20) / DTypeSize(dtype) / ranks + 5};
}

// A fresh seed per test case, distinct across collectives, dtypes, sizes, ops and layouts.
uint64_t CaseSeed(int collective, DType dtype, size_t count, int op, bool in_place) {
  return ((((collective * 7 + static_cast<int>(dtype)) * 1000003 + count) * 5 + op) * 2 + (in_place ? 1 : 0)) +
         20240601;
}

class MpiCollectivesTest : public ::testing::TestWithParam<DType> {
 protected:
  void SetUp() override {
    ASSERT_TRUE(InitMpi(nullptr, nullptr).ok());
    CommOptions options;
    options.deadline = absl::Seconds(120);
    auto comm = CreateMpiCommunicator(MPI_COMM_WORLD, options);
    ASSERT_TRUE(comm.ok()) << comm.status();
    comm_ = *std::move(comm);
    rank_ = comm_->rank();
    size_ = comm_->size();
  }
  void TearDown() override { EXPECT_EQ(Watchdog::Get().in_flight(), 0u); }

  std::unique_ptr<Communicator> comm_;
  int rank_ = 0;
  int size_ = 0;
};

TEST_P(MpiCollectivesTest, AllReduce) {
  const DType dtype = GetParam();
  for (size_t count : Counts(dtype, 1)) {
    for (ReduceOp op : kOps) {
      for (bool in_place : {false, true}) {
        SCOPED_TRACE(absl::StrCat("count ", count, " op ", ReduceOpName(op), in_place ? " in place" : ""));
        const auto inputs =
            InputsOfAllRanks(dtype, count, CaseSeed(0, dtype, count, static_cast<int>(op), in_place), size_);
        Bytes send = inputs[rank_];
        Bytes recv = in_place ? send : Garbage(dtype, count);
        void* out = recv.data();
        ASSERT_TRUE(comm_->AllReduce(in_place ? out : send.data(), out, count, dtype, op).ok());
        ExpectReduced(out, count, dtype, op, inputs, 0);
        if (!in_place) {
          EXPECT_EQ(send, inputs[rank_]) << "out-of-place all_reduce modified its input";
        }
      }
    }
  }
}

TEST_P(MpiCollectivesTest, ReduceScatter) {
  const DType dtype = GetParam();
  const size_t element = DTypeSize(dtype);
  for (size_t recv_count : Counts(dtype, size_)) {
    const size_t total = recv_count * size_;
    const size_t own = recv_count * rank_ * element;
    for (ReduceOp op : kOps) {
      for (bool in_place : {false, true}) {
        SCOPED_TRACE(absl::StrCat("recv_count ", recv_count, " op ", ReduceOpName(op), in_place ? " in place" : ""));
        const auto inputs =
            InputsOfAllRanks(dtype, total, CaseSeed(1, dtype, recv_count, static_cast<int>(op), in_place), size_);
        Bytes send = inputs[rank_];
        if (in_place) {
          ASSERT_TRUE(comm_->ReduceScatter(send.data(), send.data() + own, recv_count, dtype, op).ok());
          ExpectReduced(send.data() + own, recv_count, dtype, op, inputs, recv_count * rank_);
          // Only this rank's chunk is written.
          EXPECT_TRUE(SameBytes(send.data(), inputs[rank_].data(), own));
          EXPECT_TRUE(SameBytes(send.data() + own + recv_count * element,
                                inputs[rank_].data() + own + recv_count * element,
                                send.size() - own - recv_count * element));
        } else {
          Bytes recv = Garbage(dtype, recv_count);
          ASSERT_TRUE(comm_->ReduceScatter(send.data(), recv.data(), recv_count, dtype, op).ok());
          ExpectReduced(recv.data(), recv_count, dtype, op, inputs, recv_count * rank_);
          EXPECT_EQ(send, inputs[rank_]) << "out-of-place reduce_scatter modified its input";
        }
      }
    }
  }
}

TEST_P(MpiCollectivesTest, AllGather) {
  const DType dtype = GetParam();
  const size_t element = DTypeSize(dtype);
  for (size_t send_count : Counts(dtype, size_)) {
    for (bool in_place : {false, true}) {
      SCOPED_TRACE(absl::StrCat("send_count ", send_count, in_place ? " in place" : ""));
      const auto inputs = InputsOfAllRanks(dtype, send_count, CaseSeed(2, dtype, send_count, 0, in_place), size_);
      const size_t chunk = send_count * element;
      Bytes recv = Garbage(dtype, send_count * size_);
      if (in_place) {
        if (chunk > 0) std::memcpy(recv.data() + chunk * rank_, inputs[rank_].data(), chunk);  // no null memcpy
        ASSERT_TRUE(comm_->AllGather(recv.data() + chunk * rank_, recv.data(), send_count, dtype).ok());
      } else {
        ASSERT_TRUE(comm_->AllGather(inputs[rank_].data(), recv.data(), send_count, dtype).ok());
      }
      for (int r = 0; r < size_; ++r) {
        EXPECT_TRUE(SameBytes(recv.data() + chunk * r, inputs[r].data(), chunk)) << "chunk of rank " << r;
      }
    }
  }
}

TEST_P(MpiCollectivesTest, BroadcastFromEveryRoot) {
  const DType dtype = GetParam();
  for (size_t count : Counts(dtype, 1)) {
    for (int root = 0; root < size_; ++root) {
      SCOPED_TRACE(absl::StrCat("count ", count, " root ", root));
      const auto inputs = InputsOfAllRanks(dtype, count, CaseSeed(3, dtype, count, root, false), size_);
      Bytes buffer = inputs[rank_];
      ASSERT_TRUE(comm_->Broadcast(buffer.data(), count, dtype, root).ok());
      EXPECT_EQ(buffer, inputs[root]);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(AllDTypes, MpiCollectivesTest, ::testing::ValuesIn(kAllDTypes),
                         [](const ::testing::TestParamInfo<DType>& info) {
                           return std::string(DTypeName(info.param));
                         });

TEST(MpiBarrierTest, NoRankLeavesBeforeTheLastArrives) {
  ASSERT_TRUE(InitMpi(nullptr, nullptr).ok());
  auto comm = CreateMpiCommunicator(MPI_COMM_WORLD, CommOptions{});
  ASSERT_TRUE(comm.ok()) << comm.status();
  const int late = (*comm)->size() - 1;
  constexpr auto kDelay = std::chrono::milliseconds(300);
  ASSERT_TRUE((*comm)->Barrier().ok());  // line everyone up first
  const auto start = std::chrono::steady_clock::now();
  if ((*comm)->rank() == late) std::this_thread::sleep_for(kDelay);
  ASSERT_TRUE((*comm)->Barrier().ok());
  const auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_GE(waited, kDelay - std::chrono::milliseconds(100)) << "left the barrier before rank " << late << " arrived";
  EXPECT_EQ((*comm)->sequence(), 2u);
}

}  // namespace
}  // namespace kachi
