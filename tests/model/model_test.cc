// GptModel on one rank: bad tokens are rejected with their position, the mean loss of a fresh model is near
// log(vocab), LastLogits equals the last row of a full forward, and the gradients-ready hook fires exactly when
// backward has finalized the tensors it names (not later, not earlier).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/model/gpt_model.h"
#include "tests/test_util.h"

namespace kachi {
namespace {

const GptShape kShape{2, 4, 32, 60, 64, 16};

TEST(GptModelTest, RejectsTokensOutsideTheVocabulary) {
  GptModel model(kShape, nullptr);
  InitializeParameters(model.layout(), 3, model.params());
  std::vector<int32_t> inputs(8, 5), targets(8, 7);
  targets[5] = 60;  // padded rows exist but are not real tokens
  auto loss = model.Loss(inputs.data(), targets.data(), 1, 8);
  ASSERT_FALSE(loss.ok());
  EXPECT_NE(std::string(loss.status().message()).find("target token 60 at position 5"), std::string::npos)
      << loss.status();
  inputs[2] = -1;
  loss = model.Loss(inputs.data(), targets.data(), 1, 8);
  EXPECT_NE(std::string(loss.status().message()).find("input token -1 at position 2"), std::string::npos);
  EXPECT_FALSE(model.Loss(inputs.data(), targets.data(), 1, 17).ok());  // longer than the context
}

TEST(GptModelTest, FreshModelPredictsNearUniformAndLastLogitsMatchForward) {
  GptModel model(kShape, nullptr);
  InitializeParameters(model.layout(), 5, model.params());
  std::vector<int32_t> tokens(12), targets(12);
  for (int i = 0; i < 12; ++i) {
    tokens[i] = (i * 7 + 3) % 60;
    targets[i] = (i * 11 + 1) % 60;
  }
  auto loss = model.Loss(tokens.data(), targets.data(), 1, 12);
  ASSERT_TRUE(loss.ok()) << loss.status();
  EXPECT_NEAR(*loss, std::log(60.0), 0.1);
  auto logits = model.LocalLogits();
  ASSERT_TRUE(logits.ok()) << logits.status();
  const std::vector<float> full_row(logits->end() - 64, logits->end());
  auto last = model.LastLogits(tokens.data(), 12);
  ASSERT_TRUE(last.ok()) << last.status();
  ASSERT_EQ(last->size(), 60u);  // real vocabulary only
  for (int v = 0; v < 60; ++v) EXPECT_EQ((*last)[v], full_row[v]) << v;
}

int FirstTensorOfBlock(const BlockTensors& t) {
  return std::min({t.ln_1_weight, t.ln_1_bias, t.c_attn_weight, t.c_attn_bias, t.attn_proj_weight,
                   t.attn_proj_bias, t.ln_2_weight, t.ln_2_bias, t.c_fc_weight, t.c_fc_bias, t.mlp_proj_weight,
                   t.mlp_proj_bias});
}

TEST(GptModelTest, GradientsReadyHookFiresAsSoonAsTensorsAreFinal) {
  GptModel model(kShape, nullptr);
  InitializeParameters(model.layout(), 5, model.params());
  const ParameterLayout& layout = model.layout();
  std::vector<int32_t> tokens(24), targets(24);
  for (int i = 0; i < 24; ++i) {
    tokens[i] = (i * 7 + 3) % 60;
    targets[i] = (i * 11 + 1) % 60;
  }
  std::vector<int> firsts;
  std::vector<std::vector<float>> snapshots;  // the whole gradient buffer at each call
  model.set_gradients_ready_hook([&](int first) {
    firsts.push_back(first);
    snapshots.emplace_back(model.grads(), model.grads() + model.buffer_size());
    return absl::OkStatus();
  });
  ASSERT_TRUE(model.ZeroGrads().ok());
  ASSERT_TRUE(model.ForwardBackward(tokens.data(), targets.data(), 2, 12, 1.0f).ok());
  const std::vector<int> expected = {std::min(layout.ln_f_weight(), layout.ln_f_bias()),
                                     FirstTensorOfBlock(layout.block(1)), FirstTensorOfBlock(layout.block(0)), 0};
  ASSERT_EQ(firsts, expected);
  const float* final_grads = model.grads();
  auto offset = [&](int t) { return layout.tensors()[t].offset; };
  for (size_t k = 0; k < firsts.size(); ++k) {
    // Not too early: everything from the first named tensor on is already final, bit for bit.
    const int64_t from = offset(firsts[k]);
    EXPECT_EQ(std::memcmp(snapshots[k].data() + from, final_grads + from,
                          (model.buffer_size() - from) * sizeof(float)), 0) << "call " << k;
    if (k + 1 == firsts.size()) continue;
    // Not too late: the tensors the next call adds have no gradient yet (wte excepted: the tied LM head writes it
    // first).
    const int64_t wte_end = offset(layout.wte()) + layout.tensors()[layout.wte()].size;
    for (int64_t i = std::max(offset(firsts[k + 1]), wte_end); i < from; ++i) {
      ASSERT_EQ(snapshots[k][i], 0.0f) << "call " << k << " element " << i;
    }
  }

  // An error from the hook ends backward with it; a null hook is never called.
  model.set_gradients_ready_hook([](int) { return absl::AbortedError("hook says stop"); });
  auto failed = model.ForwardBackward(tokens.data(), targets.data(), 2, 12, 1.0f);
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kAborted) << failed.status();
  model.set_gradients_ready_hook(nullptr);
  EXPECT_TRUE(model.ForwardBackward(tokens.data(), targets.data(), 2, 12, 1.0f).ok());
  EXPECT_EQ(firsts.size(), expected.size());
}

}  // namespace
}  // namespace kachi
