// GPU tests of the NCCL backend under mpirun (1 and 2 ranks): every collective x every dtype x counts 0, 1, a
// prime and >= 1 MiB, in place and out of place, sum/avg/max, against a host reference computed on each rank from
// every rank's seeded random input; broadcast from every root; host buffers rejected; barrier, synchronize, the
// watchdog draining, and split. Every test skips with a message when no CUDA device exists.
#include <cuda_runtime.h>
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <random>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "comm/nccl_communicator.h"
#include "comm/watchdog.h"
#include "gtest/gtest.h"
#include "kernels/base/device_buffer.h"
#include "tests/comm/mpi_test_data.h"
#include "tests/test_util.h"

namespace kachi {
namespace {

constexpr uint64_t kSeed = 7321;

// The NCCL world communicator shared by the tests (null without a GPU).
std::unique_ptr<Communicator>& World() {
  static auto* world = new std::unique_ptr<Communicator>();
  return *world;
}

// Creates the world before the tests (after MPI_Init) and destroys it before MPI_Finalize.
class NcclWorldEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    const int devices = testing::CudaDeviceCount();
    if (devices == 0) return;
    MPI_Comm node;
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node);
    int local_rank = 0;
    MPI_Comm_rank(node, &local_rank);
    MPI_Comm_free(&node);
    CommOptions options;
    options.name = "world";
    options.deadline = absl::Seconds(120);
    absl::StatusOr<std::unique_ptr<Communicator>> world =
        CreateNcclCommunicator(MPI_COMM_WORLD, local_rank % devices, options);
    ASSERT_TRUE(world.ok()) << world.status();
    World() = std::move(*world);
  }
  void TearDown() override { World().reset(); }
};
const ::testing::Environment* const kWorldEnvironment =
    ::testing::AddGlobalTestEnvironment(new NcclWorldEnvironment);

// Device memory holding `bytes` (at least one byte).
class DeviceBuffer {
 public:
  explicit DeviceBuffer(size_t bytes) : bytes_(std::max<size_t>(bytes, 1)) {
    EXPECT_TRUE(buffer_.Reallocate(bytes_).ok());
  }

  uint8_t* data() const { return buffer_.as<uint8_t>(); }
  void Upload(const std::vector<uint8_t>& host, size_t offset = 0) {
    ASSERT_LE(offset + host.size(), bytes_);
    ASSERT_EQ(cudaMemcpy(data() + offset, host.data(), host.size(), cudaMemcpyHostToDevice), cudaSuccess);
    // A pageable-memory cudaMemcpy may return before its DMA lands, and the communicator's non-blocking stream is
    // not ordered after the legacy stream: without this, a collective could read stale input (seen once on the
    // H100 as garbage past element ~100K of 1 MiB buffers).
    ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  }
  std::vector<uint8_t> Download(size_t bytes, size_t offset = 0) const {
    std::vector<uint8_t> host(bytes);
    EXPECT_EQ(cudaMemcpy(host.data(), data() + offset, bytes, cudaMemcpyDeviceToHost), cudaSuccess);
    return host;
  }

 private:
  base::DeviceBuffer buffer_;
  size_t bytes_;
};

// Rank `rank`'s input of `count` elements of `dtype` for `tag`, as exact doubles (values the dtype represents).
std::vector<double> InputValues(DType dtype, int rank, size_t count, uint64_t tag) {
  const uint64_t seed = kSeed * 1000003 + tag * 131 + rank;
  std::vector<double> values(count);
  if (dtype == DType::kInt32 || dtype == DType::kInt64) {
    std::mt19937_64 gen(seed);
    std::uniform_int_distribution<int64_t> dist(-1000, 1000);
    for (double& v : values) v = static_cast<double>(dist(gen));
    return values;
  }
  const std::vector<float> floats = testing::RandomFloats(count, seed);
  for (size_t i = 0; i < count; ++i) {
    if (dtype == DType::kBFloat16) values[i] = BFloat16ToFloat(FloatToBFloat16(floats[i]));
    else if (dtype == DType::kFloat16) values[i] = HalfToFloat(FloatToHalf(floats[i]));
    else values[i] = floats[i];
  }
  return values;
}

// `values` encoded as `dtype` bytes.
std::vector<uint8_t> Encode(DType dtype, const std::vector<double>& values) {
  const size_t width = DTypeSize(dtype);
  std::vector<uint8_t> out(values.size() * width);
  for (size_t i = 0; i < values.size(); ++i) {
    uint8_t* at = out.data() + i * width;
    switch (dtype) {
      case DType::kFloat32: { const float v = static_cast<float>(values[i]); std::memcpy(at, &v, 4); break; }
      case DType::kBFloat16: { const uint16_t v = FloatToBFloat16(static_cast<float>(values[i])); std::memcpy(at, &v, 2); break; }
      case DType::kFloat16: { const uint16_t v = FloatToHalf(static_cast<float>(values[i])); std::memcpy(at, &v, 2); break; }
      case DType::kInt32: { const int32_t v = static_cast<int32_t>(values[i]); std::memcpy(at, &v, 4); break; }
      case DType::kInt64: { const int64_t v = static_cast<int64_t>(values[i]); std::memcpy(at, &v, 8); break; }
    }
  }
  return out;
}

// Element `index` of a `dtype` byte buffer as a double (the MPI tests' reader, tests/comm/mpi_test_data.h).
double Decode(DType dtype, const std::vector<uint8_t>& bytes, size_t index) {
  return testing::ValueAt(bytes.data(), index, dtype);
}

// Unit roundoff of `dtype` (0 for integers, which must match exactly).
double Epsilon(DType dtype) {
  switch (dtype) {
    case DType::kFloat32: return std::ldexp(1.0, -23);
    case DType::kBFloat16: return std::ldexp(1.0, -8);
    case DType::kFloat16: return std::ldexp(1.0, -11);
    default: return 0.0;
  }
}

// Reference reduction of element `index` over every rank's input, and the tolerance the device result gets: NCCL
// rounds to the dtype after each of its n-1 combining steps (and scales by 1/n before summing for avg), so the
// bound is about 2 n eps times the magnitude of the terms. Integer results (avg = truncated sum / n) are exact.
struct Expected {
  double value;
  double tolerance;
};
Expected Reduce(DType dtype, ReduceOp op, const std::vector<std::vector<double>>& inputs, size_t index) {
  const int n = static_cast<int>(inputs.size());
  double sum = 0, abs_sum = 0, max = -INFINITY;
  int64_t int_sum = 0;
  for (const auto& input : inputs) {
    sum += input[index];
    abs_sum += std::fabs(input[index]);
    max = std::max(max, input[index]);
    int_sum += static_cast<int64_t>(input[index]);
  }
  const double eps = Epsilon(dtype);
  const bool integer = dtype == DType::kInt32 || dtype == DType::kInt64;
  switch (op) {
    case ReduceOp::kSum: return {sum, 2 * n * eps * abs_sum};
    case ReduceOp::kMax: return {max, 0.0};
    case ReduceOp::kAvg:
      if (integer) return {static_cast<double>(int_sum / n), 0.0};
      return {sum / n, 2 * (n + 1) * eps * abs_sum / n};
  }
  return {0, 0};
}

// Counts every collective is tested at: empty, one element, a prime, and >= 1 MiB of `dtype`.
std::vector<size_t> TestCounts(DType dtype) { return {0, 1, 1031, (size_t{1} << 20) / DTypeSize(dtype) + 13}; }

// Fails with the first element of `got` (decoded from `bytes`) that is off by more than its tolerance.
void ExpectClose(DType dtype, const std::vector<uint8_t>& bytes, size_t count,
                 const std::function<Expected(size_t)>& expected) {
  for (size_t i = 0; i < count; ++i) {
    const Expected want = expected(i);
    const double got = Decode(dtype, bytes, i);
    if (std::fabs(got - want.value) > want.tolerance) {
      ADD_FAILURE() << "element " << i << " of " << count << ": got " << got << ", expected " << want.value
                    << " (tolerance " << want.tolerance << ")";
      return;
    }
  }
}

class NcclCollectiveTest : public ::testing::TestWithParam<DType> {
 protected:
  void SetUp() override {
    KACHI_SKIP_WITHOUT_GPU();
    ASSERT_NE(World(), nullptr) << "the NCCL world communicator was not created";
  }
  Communicator& world() { return *World(); }
};

TEST_P(NcclCollectiveTest, AllReduce) {
  const DType dtype = GetParam();
  const size_t width = DTypeSize(dtype);
  const int n = world().size();
  const int rank = world().rank();
  uint64_t tag = 0;
  for (size_t count : TestCounts(dtype)) {
    for (ReduceOp op : {ReduceOp::kSum, ReduceOp::kAvg, ReduceOp::kMax}) {
      for (bool in_place : {false, true}) {
        SCOPED_TRACE(absl::StrCat("all_reduce ", DTypeName(dtype), " ", ReduceOpName(op), " count ", count,
                                  in_place ? " in place" : " out of place"));
        ++tag;
        std::vector<std::vector<double>> inputs;
        for (int r = 0; r < n; ++r) inputs.push_back(InputValues(dtype, r, count, tag));
        DeviceBuffer send(count * width), recv(count * width);
        send.Upload(Encode(dtype, inputs[rank]));
        void* out = in_place ? send.data() : recv.data();
        ASSERT_TRUE(world().AllReduce(send.data(), out, count, dtype, op).ok());
        ASSERT_TRUE(world().Synchronize().ok());
        const std::vector<uint8_t> result = (in_place ? send : recv).Download(count * width);
        ExpectClose(dtype, result, count, [&](size_t i) { return Reduce(dtype, op, inputs, i); });
      }
    }
  }
}

TEST_P(NcclCollectiveTest, ReduceScatter) {
  const DType dtype = GetParam();
  const size_t width = DTypeSize(dtype);
  const int n = world().size();
  const int rank = world().rank();
  uint64_t tag = 100;
  for (size_t block : TestCounts(dtype)) {
    for (ReduceOp op : {ReduceOp::kSum, ReduceOp::kAvg, ReduceOp::kMax}) {
      for (bool in_place : {false, true}) {
        SCOPED_TRACE(absl::StrCat("reduce_scatter ", DTypeName(dtype), " ", ReduceOpName(op), " block ", block,
                                  in_place ? " in place" : " out of place"));
        ++tag;
        std::vector<std::vector<double>> inputs;
        for (int r = 0; r < n; ++r) inputs.push_back(InputValues(dtype, r, block * n, tag));
        DeviceBuffer send(block * n * width), recv(block * width);
        send.Upload(Encode(dtype, inputs[rank]));
        uint8_t* out = in_place ? send.data() + rank * block * width : recv.data();
        ASSERT_TRUE(world().ReduceScatter(send.data(), out, block, dtype, op).ok());
        ASSERT_TRUE(world().Synchronize().ok());
        const std::vector<uint8_t> result =
            in_place ? send.Download(block * width, rank * block * width) : recv.Download(block * width);
        ExpectClose(dtype, result, block, [&](size_t i) { return Reduce(dtype, op, inputs, rank * block + i); });
      }
    }
  }
}

TEST_P(NcclCollectiveTest, AllGather) {
  const DType dtype = GetParam();
  const size_t width = DTypeSize(dtype);
  const int n = world().size();
  const int rank = world().rank();
  uint64_t tag = 200;
  for (size_t block : TestCounts(dtype)) {
    for (bool in_place : {false, true}) {
      SCOPED_TRACE(absl::StrCat("all_gather ", DTypeName(dtype), " block ", block,
                                in_place ? " in place" : " out of place"));
      ++tag;
      std::vector<std::vector<double>> inputs;
      for (int r = 0; r < n; ++r) inputs.push_back(InputValues(dtype, r, block, tag));
      DeviceBuffer send(block * width), recv(block * n * width);
      const void* in = send.data();
      if (in_place) {
        recv.Upload(Encode(dtype, inputs[rank]), rank * block * width);
        in = recv.data() + rank * block * width;
      } else {
        send.Upload(Encode(dtype, inputs[rank]));
      }
      ASSERT_TRUE(world().AllGather(in, recv.data(), block, dtype).ok());
      ASSERT_TRUE(world().Synchronize().ok());
      const std::vector<uint8_t> result = recv.Download(block * n * width);
      ExpectClose(dtype, result, block * n,
                  [&](size_t i) { return Expected{inputs[i / block][i % block], 0.0}; });
    }
  }
}

TEST_P(NcclCollectiveTest, BroadcastFromEveryRoot) {
  const DType dtype = GetParam();
  const size_t width = DTypeSize(dtype);
  const int n = world().size();
  const int rank = world().rank();
  uint64_t tag = 300;
  for (size_t count : TestCounts(dtype)) {
    for (int root = 0; root < n; ++root) {
      SCOPED_TRACE(absl::StrCat("broadcast ", DTypeName(dtype), " count ", count, " root ", root));
      ++tag;
      const std::vector<double> mine = InputValues(dtype, rank, count, tag);
      const std::vector<double> roots = InputValues(dtype, root, count, tag);
      DeviceBuffer buffer(count * width);
      buffer.Upload(Encode(dtype, mine));
      ASSERT_TRUE(world().Broadcast(buffer.data(), count, dtype, root).ok());
      ASSERT_TRUE(world().Synchronize().ok());
      const std::vector<uint8_t> result = buffer.Download(count * width);
      ExpectClose(dtype, result, count, [&](size_t i) { return Expected{roots[i], 0.0}; });
    }
  }
}

INSTANTIATE_TEST_SUITE_P(EveryDType, NcclCollectiveTest, ::testing::ValuesIn(kAllDTypes),
                         [](const ::testing::TestParamInfo<DType>& info) {
                           return std::string(DTypeName(info.param));
                         });

class NcclCommunicatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    KACHI_SKIP_WITHOUT_GPU();
    ASSERT_NE(World(), nullptr) << "the NCCL world communicator was not created";
  }
  Communicator& world() { return *World(); }
};

TEST_F(NcclCommunicatorTest, DescribesItself) {
  EXPECT_EQ(world().backend(), "nccl");
  EXPECT_TRUE(world().wants_device_buffers());
  int mpi_rank = 0, mpi_size = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &mpi_rank);
  MPI_Comm_size(MPI_COMM_WORLD, &mpi_size);
  EXPECT_EQ(world().rank(), mpi_rank);
  EXPECT_EQ(world().size(), mpi_size);
}

TEST_F(NcclCommunicatorTest, SmallHostBuffersAreStagedLargeOnesRejected) {
  // Small host buffers (a loss, a gradient norm, a set-up exchange) are staged through device memory: the result
  // is in host memory when the call returns.
  std::vector<float> host = testing::RandomFloats(64, kSeed + world().rank());
  std::vector<float> expected(64, 0.0f);
  for (int r = 0; r < world().size(); ++r) {
    const std::vector<float> contribution = testing::RandomFloats(64, kSeed + r);
    for (int i = 0; i < 64; ++i) expected[i] += contribution[i];
  }
  std::vector<float> sum(64, -1.0f);
  ASSERT_TRUE(world().AllReduce(host.data(), sum.data(), 64, DType::kFloat32, ReduceOp::kSum).ok());
  for (int i = 0; i < 64; ++i) EXPECT_NEAR(sum[i], expected[i], 1e-5f * (1.0f + std::fabs(expected[i])));
  float scalar = static_cast<float>(world().rank() + 1);  // in place, one element: the trainer's loss average
  ASSERT_TRUE(world().AllReduce(&scalar, &scalar, 1, DType::kFloat32, ReduceOp::kSum).ok());
  EXPECT_EQ(scalar, world().size() * (world().size() + 1) / 2.0f);
  std::vector<int32_t> ids(4, world().rank() == 0 ? 42 : -1);
  ASSERT_TRUE(world().Broadcast(ids.data(), 4, DType::kInt32, 0).ok());
  EXPECT_EQ(ids, std::vector<int32_t>(4, 42));
  std::vector<int64_t> gathered(world().size(), -1);
  const int64_t mine = 100 + world().rank();
  ASSERT_TRUE(world().AllGather(&mine, gathered.data(), 1, DType::kInt64).ok());
  for (int r = 0; r < world().size(); ++r) EXPECT_EQ(gathered[r], 100 + r);

  // A large host buffer is a clear error (a slow path there would hide a bug), and nothing is enqueued.
  std::vector<float> large(1 << 19);  // 2 MiB
  DeviceBuffer device(large.size() * sizeof(float));
  const absl::Status rejected =
      world().AllReduce(large.data(), device.data(), large.size(), DType::kFloat32, ReduceOp::kSum);
  EXPECT_EQ(rejected.code(), absl::StatusCode::kInvalidArgument) << rejected;
  EXPECT_TRUE(absl::StrContains(rejected.message(), "host memory")) << rejected;
  EXPECT_TRUE(absl::StrContains(rejected.message(), "send")) << rejected;
  EXPECT_TRUE(world().Barrier().ok());
}

TEST_F(NcclCommunicatorTest, BarrierSynchronizeAndTheWatchdogDrains) {
  const uint64_t before = world().sequence();
  DeviceBuffer buffer(1 << 20);
  for (int i = 0; i < 8; ++i) {
    ASSERT_TRUE(world().AllReduce(buffer.data(), buffer.data(), (1 << 20) / 4, DType::kFloat32, ReduceOp::kMax).ok());
  }
  ASSERT_TRUE(world().Barrier().ok());
  ASSERT_TRUE(world().Synchronize().ok());
  EXPECT_EQ(world().sequence(), before + 9);
  // Every collective's completion event has fired, so the watchdog drops them within a few ticks.
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (Watchdog::Get().in_flight() > 0 && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(Watchdog::Get().in_flight(), 0u);
}

TEST_F(NcclCommunicatorTest, SplitByParityWithReversedKeys) {
  const int rank = world().rank();
  const int n = world().size();
  absl::StatusOr<std::unique_ptr<Communicator>> half = world().Split(rank % 2, -rank);
  ASSERT_TRUE(half.ok()) << half.status();
  ASSERT_NE(*half, nullptr);
  std::vector<int> members;
  for (int r = 0; r < n; ++r) {
    if (r % 2 == rank % 2) members.push_back(r);
  }
  const int expected_size = static_cast<int>(members.size());
  EXPECT_EQ((*half)->size(), expected_size);
  // Keys are -rank: the highest world rank comes first.
  const int position = static_cast<int>(std::find(members.begin(), members.end(), rank) - members.begin());
  EXPECT_EQ((*half)->rank(), expected_size - 1 - position);
  std::vector<double> mine = {static_cast<double>(rank + 1)};
  DeviceBuffer value(sizeof(int64_t));
  value.Upload(Encode(DType::kInt64, mine));
  ASSERT_TRUE((*half)->AllReduce(value.data(), value.data(), 1, DType::kInt64, ReduceOp::kSum).ok());
  ASSERT_TRUE((*half)->Synchronize().ok());
  int64_t expected_sum = 0;
  for (int member : members) expected_sum += member + 1;
  EXPECT_EQ(Decode(DType::kInt64, value.Download(8), 0), static_cast<double>(expected_sum));
}

TEST_F(NcclCommunicatorTest, NegativeColorTakesPartButGetsNothing) {
  const int rank = world().rank();
  absl::StatusOr<std::unique_ptr<Communicator>> part = world().Split(rank == 0 ? -1 : 0, rank);
  ASSERT_TRUE(part.ok()) << part.status();
  if (rank == 0) {
    EXPECT_EQ(*part, nullptr);
  } else {
    ASSERT_NE(*part, nullptr);
    EXPECT_EQ((*part)->size(), world().size() - 1);
    EXPECT_TRUE((*part)->Barrier().ok());
  }
  EXPECT_TRUE(world().Barrier().ok());
}

}  // namespace
}  // namespace kachi
