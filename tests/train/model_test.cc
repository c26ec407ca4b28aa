// GptModel on one rank: bad tokens are rejected with their position, the mean loss of a fresh model is near
// log(vocab), and LastLogits equals the last row of a full forward.
#include <cmath>

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

}  // namespace
}  // namespace kachi
