// Device and backend choice as pure logic with injected device counts (no GPU needed).
#include "runtime/config/device_binding.h"

#include <random>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace kachi {
namespace {

using ::testing::HasSubstr;
using Backend = config::CommConfig;

TEST(ChooseDeviceTest, OneDevicePerLocalRank) {
  std::mt19937_64 gen(11);
  for (int trial = 0; trial < 50; ++trial) {
    const int devices = std::uniform_int_distribution<int>(1, 16)(gen);
    const int local_size = std::uniform_int_distribution<int>(1, devices)(gen);
    const int local_rank = std::uniform_int_distribution<int>(0, local_size - 1)(gen);
    auto device = ChooseDevice(local_rank, local_size, devices, /*allow_device_sharing=*/false);
    ASSERT_TRUE(device.ok()) << device.status();
    EXPECT_EQ(*device, local_rank);
  }
}

TEST(ChooseDeviceTest, MoreRanksThanDevicesIsAnErrorUnlessSharingIsAllowed) {
  auto device = ChooseDevice(5, 6, 4, false);
  ASSERT_FALSE(device.ok());
  const std::string message(device.status().message());
  EXPECT_THAT(message, HasSubstr("6 ranks on this node but only 4 visible CUDA device(s)"));
  EXPECT_THAT(message, HasSubstr("launcher.allow_device_sharing"));
  auto shared = ChooseDevice(5, 6, 4, true);
  ASSERT_TRUE(shared.ok()) << shared.status();
  EXPECT_EQ(*shared, 1);
}

TEST(ChooseDeviceTest, NoDevicesMeansCpu) {
  auto device = ChooseDevice(3, 4, 0, false);
  ASSERT_TRUE(device.ok()) << device.status();
  EXPECT_EQ(*device, -1);
}

TEST(ChooseDeviceTest, InvalidLocalRankIsAnError) {
  EXPECT_FALSE(ChooseDevice(2, 2, 8, false).ok());
  EXPECT_FALSE(ChooseDevice(-1, 2, 8, false).ok());
}

TEST(ChooseBackendTest, AutoPicksNcclOnlyWithAnOwnDeviceAndNccl) {
  EXPECT_EQ(*ChooseBackend(Backend::AUTO, 0, true, false), "nccl");
  EXPECT_EQ(*ChooseBackend(Backend::AUTO, -1, true, false), "mpi");
  EXPECT_EQ(*ChooseBackend(Backend::AUTO, 3, false, false), "mpi");
  EXPECT_EQ(*ChooseBackend(Backend::AUTO, 1, true, true), "mpi") << "NCCL cannot share a GPU within a communicator";
  EXPECT_EQ(*ChooseBackend(Backend::MPI, 3, true, false), "mpi");
  EXPECT_EQ(*ChooseBackend(Backend::NCCL, 3, true, false), "nccl");
}

TEST(ChooseBackendTest, NcclWithoutDeviceBuildOrOwnDeviceIsAnError) {
  auto no_device = ChooseBackend(Backend::NCCL, -1, true, false);
  ASSERT_FALSE(no_device.ok());
  EXPECT_THAT(std::string(no_device.status().message()), HasSubstr("no CUDA device"));
  auto no_nccl = ChooseBackend(Backend::NCCL, 0, false, false);
  ASSERT_FALSE(no_nccl.ok());
  EXPECT_THAT(std::string(no_nccl.status().message()), HasSubstr("no NCCL backend"));
  auto shared = ChooseBackend(Backend::NCCL, 1, true, true);
  ASSERT_FALSE(shared.ok());
  EXPECT_THAT(std::string(shared.status().message()), HasSubstr("device 1 is shared"));
}

TEST(DevicesSharedTest, OnlyWhenRanksOutnumberDevices) {
  EXPECT_FALSE(DevicesShared(8, 8));
  EXPECT_TRUE(DevicesShared(9, 8));
  EXPECT_FALSE(DevicesShared(4, 0)) << "no devices: nothing is shared";
}

}  // namespace
}  // namespace kachi
