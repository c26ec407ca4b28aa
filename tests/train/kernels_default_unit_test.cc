// DefaultKernels (train.kernels unset): "cuda" only when every rank has a GPU and the head size is 64; otherwise
// "cpu" with the reason the start line prints.
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/train/train_config.h"

namespace kachi {
namespace {

using ::testing::HasSubstr;

config::KachiConfig Tiny(int heads, int width) {
  config::KachiConfig config;
  config.mutable_model()->set_preset("tiny");
  config.mutable_model()->set_heads(heads);
  config.mutable_model()->set_width(width);
  return config;
}

TEST(DefaultKernelsTest, CudaOnlyWithAGpuOnEveryRankAndHeadSize64) {
  EXPECT_EQ(DefaultKernels(Tiny(2, 128), true).kernels, "cuda");
  EXPECT_EQ(DefaultKernels(Tiny(1, 64), true).kernels, "cuda");
  const DefaultKernelsChoice no_gpu = DefaultKernels(Tiny(2, 128), false);
  EXPECT_EQ(no_gpu.kernels, "cpu");
  EXPECT_THAT(no_gpu.reason, HasSubstr("no GPU bound"));
  const DefaultKernelsChoice head32 = DefaultKernels(Tiny(4, 128), true);
  EXPECT_EQ(head32.kernels, "cpu");
  EXPECT_THAT(head32.reason, HasSubstr("head size 32"));
  EXPECT_EQ(DefaultKernels(Tiny(4, -128), true).kernels, "cpu");  // unresolvable: the config error comes later
}

}  // namespace
}  // namespace kachi
