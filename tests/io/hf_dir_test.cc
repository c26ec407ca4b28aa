// Hugging Face directories: config.json parsing (GPT2Config's own output, refusals), the config kachi writes read
// back, sharded model.safetensors.index.json reading (fp16 + bf16 shards), prefix detection and the tied-head check.
#include "runtime/io/hf_dir.h"

#include <filesystem>
#include <cmath>
#include <random>

#include "gtest/gtest.h"
#include "runtime/io/atomic_file.h"
#include "runtime/io/safetensors.h"
#include "tests/io/io_test_util.h"

namespace kachi {
namespace {

constexpr char kGpt2Config[] = R"({
  "activation_function": "gelu_new", "architectures": ["GPT2LMHeadModel"], "attn_pdrop": 0.1,
  "bos_token_id": 50256, "embd_pdrop": 0.1, "eos_token_id": 50256, "initializer_range": 0.02,
  "layer_norm_epsilon": 1e-05, "model_type": "gpt2", "n_ctx": 1024, "n_embd": 768, "n_head": 12,
  "n_inner": null, "n_layer": 12, "n_positions": 1024, "reorder_and_upcast_attn": false,
  "task_specific_params": {"text-generation": {"do_sample": true, "max_length": 50, "n_layer": 99}},
  "summary_type": "cls_index", "use_cache": true, "vocab_size": 50257 })";

TEST(HfDirTest, ParsesGpt2ConfigIgnoringNestedFields) {
  absl::StatusOr<HfGpt2Config> config = ParseHfGpt2Config(kGpt2Config);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->n_layer, 12);  // not the nested 99
  EXPECT_EQ(config->n_head, 12);
  EXPECT_EQ(config->n_embd, 768);
  EXPECT_EQ(config->vocab_size, 50257);
  EXPECT_EQ(config->n_positions, 1024);
}

TEST(HfDirTest, WrittenConfigReadsBack) {
  GptShape shape;
  shape.layers = 3; shape.heads = 4; shape.width = 32; shape.vocab_size = 300; shape.padded_vocab = 320;
  shape.context = 48;
  absl::StatusOr<HfGpt2Config> config = ParseHfGpt2Config(HfGpt2ConfigJson(shape));
  ASSERT_TRUE(config.ok()) << config.status();
  const GptShape back = ShapeOfHfConfig(*config);
  EXPECT_EQ(DescribeShape(back), DescribeShape(GptShape{3, 4, 32, 300, 300, 48}));
}

TEST(HfDirTest, RefusesWhatKachiDoesNotCompute) {
  auto with = [](const std::string& from, const std::string& to) {
    std::string text = kGpt2Config;
    text.replace(text.find(from), from.size(), to);
    return ParseHfGpt2Config(text).status();
  };
  EXPECT_NE(with("\"gelu_new\"", "\"relu\"").message().find("relu"), absl::string_view::npos);
  EXPECT_NE(with("1e-05", "1e-06").message().find("layer_norm_epsilon"), absl::string_view::npos);
  EXPECT_NE(with("\"n_inner\": null", "\"n_inner\": 1000").message().find("n_inner"), absl::string_view::npos);
  EXPECT_NE(with("\"gpt2\"", "\"llama\"").message().find("llama"), absl::string_view::npos);
  EXPECT_NE(with("\"n_head\": 12,", "").message().find("n_head"), absl::string_view::npos);
  EXPECT_FALSE(ParseHfGpt2Config("[1, 2]").ok());
}

TEST(HfDirTest, ReadsShardedIndexAcrossDtypes) {
  const std::string dir = testing::MakeTempDir("hfshard");
  std::mt19937 rng(5);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> a(12), b(6);
  for (float& v : a) v = normal(rng);
  for (float& v : b) v = normal(rng);
  SafetensorsFile one, two;
  ASSERT_TRUE(one.AddFloats("transformer.wte.weight", {3, 4}, a, SafetensorsDType::kF16).ok());
  ASSERT_TRUE(two.AddFloats("transformer.ln_f.bias", {6}, b, SafetensorsDType::kBF16).ok());
  ASSERT_TRUE(WriteSafetensors(dir + "/model-00001-of-00002.safetensors", one).ok());
  ASSERT_TRUE(WriteSafetensors(dir + "/model-00002-of-00002.safetensors", two).ok());
  ASSERT_TRUE(WriteFileAtomically(dir + "/model.safetensors.index.json",
                                  R"({"metadata": {"total_size": 36}, "weight_map": {
                                      "transformer.wte.weight": "model-00001-of-00002.safetensors",
                                      "transformer.ln_f.bias": "model-00002-of-00002.safetensors"}})").ok());
  absl::StatusOr<SafetensorsFile> merged = ReadHfWeights(dir);
  ASSERT_TRUE(merged.ok()) << merged.status();
  EXPECT_EQ(merged->tensors().size(), 2u);
  EXPECT_EQ(DetectHfGpt2Prefix(*merged), "transformer.");
  absl::StatusOr<std::vector<float>> wte = merged->Floats("transformer.wte.weight");
  ASSERT_TRUE(wte.ok());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR((*wte)[i], a[i], 1e-3 * (1 + std::abs(a[i])));  // fp16
  absl::StatusOr<std::vector<float>> bias = merged->Floats("transformer.ln_f.bias");
  ASSERT_TRUE(bias.ok());
  for (size_t i = 0; i < b.size(); ++i) EXPECT_NEAR((*bias)[i], b[i], 8e-3 * (1 + std::abs(b[i])));  // bf16
  // A weight_map entry its shard does not hold is named.
  ASSERT_TRUE(WriteFileAtomically(dir + "/model.safetensors.index.json",
                                  R"({"weight_map": {"wpe.weight": "model-00001-of-00002.safetensors"}})").ok());
  absl::Status missing = ReadHfWeights(dir).status();
  EXPECT_NE(missing.message().find("wpe.weight"), absl::string_view::npos) << missing;
  std::filesystem::remove_all(dir);
}

TEST(HfDirTest, TiedHeadChecked) {
  SafetensorsFile file;
  const std::vector<float> wte = {1, 2, 3, 4};
  ASSERT_TRUE(file.AddFloats("wte.weight", {2, 2}, wte).ok());
  EXPECT_EQ(DetectHfGpt2Prefix(file), "");
  EXPECT_TRUE(CheckTiedLmHead(file, "wte.weight").ok());  // no head: fine
  ASSERT_TRUE(file.AddFloats("lm_head.weight", {2, 2}, wte).ok());
  EXPECT_TRUE(CheckTiedLmHead(file, "wte.weight").ok());  // duplicated head: fine
  SafetensorsFile untied;
  ASSERT_TRUE(untied.AddFloats("wte.weight", {2, 2}, wte).ok());
  ASSERT_TRUE(untied.AddFloats("lm_head.weight", {2, 2}, std::vector<float>{1, 2, 3, 5}).ok());
  absl::Status st = CheckTiedLmHead(untied, "wte.weight");
  EXPECT_NE(st.message().find("element 3"), absl::string_view::npos) << st;
}

}  // namespace
}  // namespace kachi
