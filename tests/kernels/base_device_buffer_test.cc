// base::DeviceBuffer without a GPU: an empty buffer and zero-byte allocations need no device, moves hand the memory
// over and leave the source empty; in CPU-only builds device memory is Unavailable and pinned host memory is heap
// memory (zero-filled on request, fresh random contents read back) and Reallocate replaces the memory or leaves the
// buffer empty on failure. The device paths: base_device_buffer_gpu_test.
#include "kernels/base/device_buffer.h"

#include <cstdint>
#include <cstring>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "tests/test_util.h"

namespace kachi::base {
namespace {

TEST(DeviceBufferTest, EmptyAndZeroBytesNeedNoDevice) {
  DeviceBuffer empty;
  EXPECT_TRUE(empty.empty());
  EXPECT_EQ(empty.data(), nullptr);
  EXPECT_EQ(empty.bytes(), 0u);
  for (MemoryKind kind : {MemoryKind::kDevice, MemoryKind::kPinnedHost}) {
    absl::StatusOr<DeviceBuffer> none = DeviceBuffer::Allocate(0, kind, /*zero=*/true);
    ASSERT_TRUE(none.ok()) << none.status();
    EXPECT_TRUE(none->empty());
  }
  empty.Reset();  // a no-op
  EXPECT_TRUE(empty.empty());
}

#ifndef KACHI_WITH_CUDA
TEST(DeviceBufferTest, CpuOnlyBuildRefusesDeviceMemoryNamingTheBuffer) {
  absl::StatusOr<DeviceBuffer> device = DeviceBuffer::Allocate(64, MemoryKind::kDevice, false, "test staging");
  ASSERT_FALSE(device.ok());
  EXPECT_EQ(device.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(device.status().message().find("test staging"), absl::string_view::npos) << device.status();
}

TEST(DeviceBufferTest, CpuOnlyBuildPinnedIsHeapMemoryAndMovesOwnership) {
  const std::vector<float> values = testing::RandomFloats(1001, 17);
  const size_t bytes = values.size() * sizeof(float);
  absl::StatusOr<DeviceBuffer> zeroed = DeviceBuffer::Allocate(bytes, MemoryKind::kPinnedHost, /*zero=*/true);
  ASSERT_TRUE(zeroed.ok()) << zeroed.status();
  ASSERT_EQ(zeroed->bytes(), bytes);
  EXPECT_EQ(zeroed->kind(), MemoryKind::kPinnedHost);
  for (size_t i = 0; i < values.size(); ++i) ASSERT_EQ(zeroed->as<float>()[i], 0.0f) << i;
  std::memcpy(zeroed->data(), values.data(), bytes);

  DeviceBuffer moved(std::move(*zeroed));
  EXPECT_TRUE(zeroed->empty());
  EXPECT_EQ(zeroed->bytes(), 0u);
  ASSERT_EQ(moved.bytes(), bytes);
  EXPECT_EQ(std::memcmp(moved.data(), values.data(), bytes), 0);

  absl::StatusOr<DeviceBuffer> other = DeviceBuffer::Allocate(16, MemoryKind::kPinnedHost);
  ASSERT_TRUE(other.ok()) << other.status();
  *other = std::move(moved);  // frees other's 16 bytes, takes moved's
  EXPECT_TRUE(moved.empty());
  ASSERT_EQ(other->bytes(), bytes);
  EXPECT_EQ(std::memcmp(other->data(), values.data(), bytes), 0);
  other->Reset();
  EXPECT_TRUE(other->empty());
}

TEST(DeviceBufferTest, CpuOnlyBuildReallocateReplacesOrEmpties) {
  DeviceBuffer buffer;
  ASSERT_TRUE(buffer.Reallocate(24, MemoryKind::kPinnedHost, /*zero=*/true).ok());
  ASSERT_EQ(buffer.bytes(), 24u);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(buffer.as<int32_t>()[i], 0) << i;
  ASSERT_TRUE(buffer.Reallocate(4096, MemoryKind::kPinnedHost).ok());
  EXPECT_EQ(buffer.bytes(), 4096u);
  const absl::Status device = buffer.Reallocate(8, MemoryKind::kDevice);
  EXPECT_EQ(device.code(), absl::StatusCode::kUnavailable) << device;
  EXPECT_TRUE(buffer.empty());  // the old memory is gone even though the new allocation failed
}

TEST(DeviceBufferTest, CpuOnlyBuildHugePinnedIsResourceExhausted) {
  absl::StatusOr<DeviceBuffer> huge = DeviceBuffer::Allocate(size_t{1} << 62, MemoryKind::kPinnedHost);
  ASSERT_FALSE(huge.ok());
  EXPECT_EQ(huge.status().code(), absl::StatusCode::kResourceExhausted) << huge.status();
}
#endif

}  // namespace
}  // namespace kachi::base
