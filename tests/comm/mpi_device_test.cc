// Multi-rank tests (2 ranks) of the MPI backend on CUDA device buffers, staged through pinned host memory:
// all-reduce, reduce-scatter and all-gather in place and out of place, and broadcast, compared with the same
// operation on host copies. Skipped with a message where no GPU exists.
#include <mpi.h>

#include <cstring>
#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "comm/device_staging.h"
#include "comm/mpi_communicator.h"
#include "gtest/gtest.h"
#include "kernels/base/device_buffer.h"
#include "tests/comm/mpi_test_data.h"
#include "tests/test_util.h"

namespace kachi {
namespace {

using ::kachi::testing::Bytes;
using ::kachi::testing::ExpectReduced;
using ::kachi::testing::InputsOfAllRanks;

#ifdef KACHI_WITH_CUDA
// A device allocation freed on scope exit.
class DeviceBuffer {
 public:
  explicit DeviceBuffer(size_t bytes) : bytes_(bytes) { EXPECT_TRUE(buffer_.Reallocate(bytes + 1).ok()); }
  char* data() const { return buffer_.as<char>(); }
  void Upload(const Bytes& host, size_t offset = 0) {
    ASSERT_EQ(cudaMemcpy(data() + offset, host.data(), host.size(), cudaMemcpyHostToDevice), cudaSuccess);
  }
  Bytes Download(size_t offset, size_t bytes) const {
    Bytes host(bytes);
    EXPECT_EQ(cudaMemcpy(host.data(), data() + offset, bytes, cudaMemcpyDeviceToHost), cudaSuccess);
    return host;
  }

 private:
  base::DeviceBuffer buffer_;
  size_t bytes_;
};
#endif

class MpiDeviceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    KACHI_SKIP_WITHOUT_GPU();
    auto comm = CreateMpiCommunicator(MPI_COMM_WORLD, CommOptions{});
    ASSERT_TRUE(comm.ok()) << comm.status();
    comm_ = *std::move(comm);
  }
  std::unique_ptr<Communicator> comm_;
};

TEST_F(MpiDeviceTest, DetectsDeviceMemory) {
#ifdef KACHI_WITH_CUDA
  std::vector<float> host(16, 1.5f);
  DeviceBuffer device(64);
  EXPECT_FALSE(IsDeviceMemory(host.data()));
  EXPECT_TRUE(IsDeviceMemory(device.data()));
  EXPECT_TRUE(IsDeviceMemory(device.data() + 8));
#endif
}

TEST_F(MpiDeviceTest, CollectivesOnDeviceBuffersMatchTheReference) {
#ifdef KACHI_WITH_CUDA
  const int rank = comm_->rank();
  const int size = comm_->size();
  for (DType dtype : {DType::kFloat32, DType::kBFloat16, DType::kInt64}) {
    const size_t element = DTypeSize(dtype);
    for (size_t count : {size_t{1031}, (size_t{1} << 20) / element / size + 3}) {
      for (bool in_place : {false, true}) {
        SCOPED_TRACE(absl::StrCat(DTypeName(dtype), " count ", count, in_place ? " in place" : ""));
        const uint64_t seed = 900 + count * 3 + static_cast<int>(dtype) * 2 + in_place;
        // all_reduce (avg exercises the fp32 path for bf16)
        for (ReduceOp op : {ReduceOp::kSum, ReduceOp::kAvg}) {
          const auto inputs = InputsOfAllRanks(dtype, count, seed + 10 * static_cast<int>(op), size);
          const size_t bytes = count * element;
          DeviceBuffer send(bytes), recv(bytes);
          send.Upload(inputs[rank]);
          ASSERT_TRUE(comm_->AllReduce(send.data(), in_place ? send.data() : recv.data(), count, dtype, op).ok());
          const Bytes got = (in_place ? send : recv).Download(0, bytes);
          ExpectReduced(got.data(), count, dtype, op, inputs, 0);
        }
        // reduce_scatter: each rank's input has size * count elements.
        {
          const auto inputs = InputsOfAllRanks(dtype, count * size, seed + 100, size);
          const size_t chunk = count * element;
          DeviceBuffer send(chunk * size), recv(chunk);
          send.Upload(inputs[rank]);
          char* out = in_place ? send.data() + chunk * rank : recv.data();
          ASSERT_TRUE(comm_->ReduceScatter(send.data(), out, count, dtype, ReduceOp::kMax).ok());
          const Bytes got = (in_place ? send : recv).Download(in_place ? chunk * rank : 0, chunk);
          ExpectReduced(got.data(), count, dtype, ReduceOp::kMax, inputs, count * rank);
        }
        // all_gather
        {
          const auto inputs = InputsOfAllRanks(dtype, count, seed + 200, size);
          const size_t chunk = count * element;
          DeviceBuffer send(chunk), recv(chunk * size);
          if (in_place) {
            recv.Upload(inputs[rank], chunk * rank);
          } else {
            send.Upload(inputs[rank]);
          }
          const char* in = in_place ? recv.data() + chunk * rank : send.data();
          ASSERT_TRUE(comm_->AllGather(in, recv.data(), count, dtype).ok());
          for (int r = 0; r < size; ++r) EXPECT_EQ(recv.Download(chunk * r, chunk), inputs[r]) << "rank " << r;
        }
        // broadcast from the last rank
        {
          const auto inputs = InputsOfAllRanks(dtype, count, seed + 300, size);
          DeviceBuffer buffer(count * element);
          buffer.Upload(inputs[rank]);
          ASSERT_TRUE(comm_->Broadcast(buffer.data(), count, dtype, size - 1).ok());
          EXPECT_EQ(buffer.Download(0, count * element), inputs[size - 1]);
        }
      }
    }
  }
#endif
}

}  // namespace
}  // namespace kachi
