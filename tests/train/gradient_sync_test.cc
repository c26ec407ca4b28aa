// Tests for how GradientSync forms its buckets and shards (single process: dp = 1 has one full shard).
#include "runtime/train/gradient_sync.h"

#include "gtest/gtest.h"
#include "runtime/model/parameter_layout.h"

namespace kachi {
namespace {

TEST(GradientSyncTest, BucketsCoverTheBufferInReverseWholeTensors) {
  const GptShape shape{2, 4, 32, 64, 64, 16};
  const ParameterLayout layout(shape, 0, 1);
  const int64_t bucket_bytes = 4096 * sizeof(float);
  GradientSync sync(layout, layout.total_size(), nullptr, bucket_bytes, false);
  ASSERT_GT(sync.buckets().size(), 2u);
  int64_t expected_end = layout.total_size();
  for (const FlatRange& bucket : sync.buckets()) {
    EXPECT_EQ(bucket.end, expected_end);  // contiguous, last tensor first
    EXPECT_LT(bucket.begin, bucket.end);
    bool starts_at_tensor = false;
    for (const ParameterSpec& spec : layout.tensors()) starts_at_tensor |= spec.offset == bucket.begin;
    EXPECT_TRUE(starts_at_tensor) << bucket.begin;
    expected_end = bucket.begin;
  }
  EXPECT_EQ(expected_end, 0);
  // Every bucket but the last closed one reaches the requested size.
  for (size_t i = 0; i + 1 < sync.buckets().size(); ++i) {
    EXPECT_GE(sync.buckets()[i].end - sync.buckets()[i].begin, 4096);
  }
  EXPECT_EQ(sync.shard().begin, 0);
  EXPECT_EQ(sync.shard().end, layout.total_size());
  EXPECT_FALSE(sync.zero1());
}

TEST(GradientSyncTest, LayoutShardsAreDisjointAndCoverTheGlobalTensors) {
  const GptShape shape{2, 4, 32, 64, 64, 16};
  const ParameterLayout full(shape, 0, 1);
  for (int tp : {2, 4}) {
    std::vector<std::vector<int>> hits(full.tensors().size());
    for (size_t t = 0; t < full.tensors().size(); ++t) hits[t].assign(full.tensors()[t].size, 0);
    for (int rank = 0; rank < tp; ++rank) {
      const ParameterLayout layout(shape, rank, tp);
      ASSERT_EQ(layout.tensors().size(), full.tensors().size());
      for (size_t t = 0; t < layout.tensors().size(); ++t) {
        const ParameterSpec& spec = layout.tensors()[t];
        if (spec.tp_replicated && rank != 0) continue;
        for (int64_t i = 0; i < spec.size; ++i) ++hits[t][spec.GlobalIndex(i)];
      }
    }
    for (size_t t = 0; t < hits.size(); ++t) {
      for (int count : hits[t]) ASSERT_EQ(count, 1) << full.tensors()[t].name << " at tp=" << tp;
    }
  }
}

}  // namespace
}  // namespace kachi
