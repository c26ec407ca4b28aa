// AssembleGlobal / ExtractLocal over real ParameterLayouts at tp = 1, 2, 4: every rank's shard of a random global
// model assembles back to it exactly, every global element is covered, and the sharding agrees with
// InitializeParameters' own (layout-independent) placement.
#include "runtime/io/tensor_shard.h"

#include <cmath>

#include "gtest/gtest.h"
#include "runtime/model/gpt_shape.h"
#include "tests/io/io_test_util.h"

namespace kachi {
namespace {

// Tiny GPT with a padded vocabulary (250 real of 256) so wte padding rows exist.
GptShape TestShape() { return GptShape{2, 4, 64, 250, 256, 64}; }

TEST(TensorShardTest, ShardsOfEveryWidthAssembleTheGlobalModel) {
  const GptShape shape = TestShape();
  const ParameterLayout whole(shape, 0, 1);
  const std::vector<float> global_model = testing::NonZeroFloats(whole.total_size(), 77);
  for (int tp : {1, 2, 4}) {
    SCOPED_TRACE(::testing::Message() << "tp=" << tp);
    std::vector<ParameterLayout> layouts;
    std::vector<std::vector<float>> shards;
    for (int r = 0; r < tp; ++r) {
      layouts.emplace_back(shape, r, tp);
      shards.emplace_back(layouts.back().total_size());
    }
    for (size_t t = 0; t < whole.tensors().size(); ++t) {
      const ParameterSpec& global_spec = whole.tensors()[t];
      const float* global = global_model.data() + global_spec.offset;  // tp=1 holds the whole tensor in order
      std::vector<float> assembled(GlobalElementCount(global_spec), NAN);
      for (int r = 0; r < tp; ++r) {
        const ParameterSpec& spec = layouts[r].tensors()[t];
        ASSERT_EQ(spec.name, global_spec.name);
        float* local = shards[r].data() + spec.offset;
        ExtractLocal(spec, global, local);
        for (int64_t i = 0; i < spec.size; ++i) {
          ASSERT_EQ(local[i], global[spec.GlobalIndex(i)]) << spec.name << " rank " << r << " element " << i;
        }
        AssembleGlobal(spec, local, assembled.data());
      }
      for (int64_t i = 0; i < GlobalElementCount(global_spec); ++i) {
        ASSERT_EQ(assembled[i], global[i]) << global_spec.name << " global element " << i
                                           << (std::isnan(assembled[i]) ? " not covered by any rank" : "");
      }
    }
  }
}

TEST(TensorShardTest, ExtractLocalMatchesInitializeParametersAtEveryWidth) {
  const GptShape shape = TestShape();
  const ParameterLayout whole(shape, 0, 1);
  std::vector<float> global_init(whole.total_size());
  InitializeParameters(whole, 1234, global_init.data());
  for (int tp : {2, 4}) {
    for (int r = 0; r < tp; ++r) {
      const ParameterLayout layout(shape, r, tp);
      std::vector<float> init(layout.total_size()), extracted(layout.total_size());
      InitializeParameters(layout, 1234, init.data());
      for (size_t t = 0; t < layout.tensors().size(); ++t) {
        const ParameterSpec& spec = layout.tensors()[t];
        ExtractLocal(spec, global_init.data() + whole.tensors()[t].offset, extracted.data() + spec.offset);
      }
      EXPECT_EQ(extracted, init) << "tp=" << tp << " rank " << r;
    }
  }
}

TEST(TensorShardTest, WorksForDoubleAndSixteenBitStorage) {
  const ParameterLayout layout(TestShape(), 1, 2);
  const ParameterSpec& spec = layout.tensors()[layout.block(0).c_attn_weight];  // three row ranges
  std::vector<double> global(GlobalElementCount(spec));
  std::vector<uint16_t> global_bits(global.size());
  const std::vector<float> noise = testing::NonZeroFloats(global.size(), 5);
  for (size_t i = 0; i < global.size(); ++i) {
    global[i] = noise[i];
    global_bits[i] = static_cast<uint16_t>(i * 2654435761u >> 7);
  }
  std::vector<double> local(spec.size);
  std::vector<uint16_t> local_bits(spec.size);
  ExtractLocal(spec, global.data(), local.data());
  ExtractLocal(spec, global_bits.data(), local_bits.data());
  for (int64_t i = 0; i < spec.size; ++i) {
    ASSERT_EQ(local[i], global[spec.GlobalIndex(i)]);
    ASSERT_EQ(local_bits[i], global_bits[spec.GlobalIndex(i)]);
  }
  std::vector<double> back(global.size(), 0.0);
  AssembleGlobal(spec, local.data(), back.data());
  for (int64_t i = 0; i < spec.size; ++i) EXPECT_EQ(back[spec.GlobalIndex(i)], local[i]);
}

}  // namespace
}  // namespace kachi
