// base::DeviceBuffer on a GPU (Skipped without one): device and pinned buffers zero-filled on request, fresh random
// values round-trip host -> device -> pinned, moves hand the device memory over, and an allocation far beyond the
// device's memory is ResourceExhausted naming the buffer (and leaves no error behind for the next CUDA call).
#include <cuda_runtime.h>

#include <cstring>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "kernels/base/device_buffer.h"
#include "tests/test_util.h"

namespace kachi::base {
namespace {

TEST(DeviceBufferGpuTest, ZeroedBuffersRoundTripAndMove) {
  KACHI_SKIP_WITHOUT_GPU();
  const std::vector<float> values = testing::RandomFloats(4099, 23);
  const size_t bytes = values.size() * sizeof(float);
  absl::StatusOr<DeviceBuffer> device = DeviceBuffer::Allocate(bytes, MemoryKind::kDevice, /*zero=*/true);
  absl::StatusOr<DeviceBuffer> pinned = DeviceBuffer::Allocate(bytes, MemoryKind::kPinnedHost, /*zero=*/true);
  ASSERT_TRUE(device.ok()) << device.status();
  ASSERT_TRUE(pinned.ok()) << pinned.status();
  ASSERT_EQ(cudaMemcpy(pinned->data(), device->data(), bytes, cudaMemcpyDeviceToHost), cudaSuccess);
  for (size_t i = 0; i < values.size(); ++i) ASSERT_EQ(pinned->as<float>()[i], 0.0f) << i;

  ASSERT_EQ(cudaMemcpy(device->data(), values.data(), bytes, cudaMemcpyHostToDevice), cudaSuccess);
  DeviceBuffer moved(std::move(*device));
  EXPECT_TRUE(device->empty());
  ASSERT_EQ(moved.bytes(), bytes);
  EXPECT_EQ(moved.kind(), MemoryKind::kDevice);
  ASSERT_EQ(cudaMemcpy(pinned->data(), moved.data(), bytes, cudaMemcpyDeviceToHost), cudaSuccess);
  EXPECT_EQ(std::memcmp(pinned->data(), values.data(), bytes), 0);
}

TEST(DeviceBufferGpuTest, HugeAllocationIsResourceExhaustedAndLeavesNoError) {
  KACHI_SKIP_WITHOUT_GPU();
  absl::StatusOr<DeviceBuffer> huge = DeviceBuffer::Allocate(size_t{1} << 52, MemoryKind::kDevice, false, "huge test");
  ASSERT_FALSE(huge.ok());
  EXPECT_EQ(huge.status().code(), absl::StatusCode::kResourceExhausted) << huge.status();
  EXPECT_NE(huge.status().message().find("huge test"), absl::string_view::npos) << huge.status();
  EXPECT_EQ(cudaGetLastError(), cudaSuccess);
}

}  // namespace
}  // namespace kachi::base
