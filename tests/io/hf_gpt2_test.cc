// Hugging Face GPT-2 mapping at tp = 1: names and shapes (Conv1D transposed, wte without padding), exact export ->
// import round trips in memory and through a file, prefixes, reduced-precision export, and import errors.
#include "runtime/io/hf_gpt2.h"

#include <filesystem>

#include "comm/dtype.h"
#include "gtest/gtest.h"
#include "runtime/io/hf_gpt2_tensors.h"
#include "runtime/io/safetensors.h"
#include "tests/io/io_test_util.h"

namespace kachi {
namespace {

GptShape TestShape() { return GptShape{2, 4, 64, 250, 256, 64}; }

// A random model with zero padded-vocabulary rows (what import produces).
std::vector<float> RandomModel(const ParameterLayout& layout, uint64_t seed) {
  std::vector<float> values = testing::NonZeroFloats(layout.total_size(), seed);
  const ParameterSpec& wte = layout.tensors()[layout.wte()];
  for (int64_t i = 0; i < wte.size; ++i) {
    if (wte.GlobalIndex(i) / wte.global_cols >= layout.shape().vocab_size) values[wte.offset + i] = 0.0f;
  }
  return values;
}

TEST(HfGpt2Test, NamesShapesAndTransposes) {
  const ParameterLayout layout(TestShape(), 0, 1);
  const std::vector<float> model = RandomModel(layout, 11);
  SafetensorsFile file;
  ASSERT_TRUE(GatherHfGpt2Tensors(layout, model.data(), nullptr, {}, &file).ok());
  EXPECT_EQ(file.tensors().size(), layout.tensors().size());
  EXPECT_EQ(file.Find("lm_head.weight"), nullptr) << "the tied LM head is exported as wte only";
  EXPECT_EQ(file.Find("wte.weight")->shape, (std::vector<int64_t>{250, 64}));
  EXPECT_EQ(file.Find("wpe.weight")->shape, (std::vector<int64_t>{64, 64}));
  EXPECT_EQ(file.Find("h.1.ln_1.weight")->shape, (std::vector<int64_t>{64}));
  EXPECT_EQ(file.Find("h.0.attn.c_attn.weight")->shape, (std::vector<int64_t>{64, 192}));
  EXPECT_EQ(file.Find("h.0.attn.c_attn.bias")->shape, (std::vector<int64_t>{192}));
  EXPECT_EQ(file.Find("h.0.attn.c_proj.weight")->shape, (std::vector<int64_t>{64, 64}));
  EXPECT_EQ(file.Find("h.1.mlp.c_fc.weight")->shape, (std::vector<int64_t>{64, 256}));
  EXPECT_EQ(file.Find("h.1.mlp.c_proj.weight")->shape, (std::vector<int64_t>{256, 64}));
  EXPECT_EQ(file.Find("ln_f.bias")->shape, (std::vector<int64_t>{64}));

  // Conv1D: HF [in, out] element (i, o) is kachi's [out, in] element (o, i).
  const ParameterSpec& fc = layout.tensors()[layout.block(1).c_fc_weight];
  const std::vector<float> hf_fc = *file.Floats("h.1.mlp.c_fc.weight");
  for (int64_t o = 0; o < fc.global_rows; o += 7) {
    for (int64_t i = 0; i < fc.global_cols; i += 5) {
      ASSERT_EQ(hf_fc[i * fc.global_rows + o], model[fc.offset + o * fc.global_cols + i]);
    }
  }
  const ParameterSpec& wte = layout.tensors()[layout.wte()];
  const std::vector<float> hf_wte = *file.Floats("wte.weight");
  EXPECT_TRUE(std::equal(hf_wte.begin(), hf_wte.end(), model.begin() + wte.offset));
}

TEST(HfGpt2Test, ExportImportRoundTripIsExact) {
  const ParameterLayout layout(TestShape(), 0, 1);
  const std::vector<float> model = RandomModel(layout, 12);
  SafetensorsFile file;
  ASSERT_TRUE(GatherHfGpt2Tensors(layout, model.data(), nullptr, {}, &file).ok());
  std::vector<float> imported = testing::NonZeroFloats(layout.total_size(), 13);  // garbage to be overwritten
  ASSERT_TRUE(ImportHfGpt2(file, layout, {}, imported.data()).ok());
  EXPECT_EQ(imported, model);
}

TEST(HfGpt2Test, FileRoundTripWithPrefixAndMetadata) {
  const ParameterLayout layout(TestShape(), 0, 1);
  const std::vector<float> model = RandomModel(layout, 14);
  const std::string dir = testing::MakeTempDir("hf");
  const std::string path = dir + "/model.safetensors";
  HfGpt2Options options;
  options.name_prefix = "transformer.";
  ASSERT_TRUE(ExportHfGpt2(layout, model.data(), nullptr, path, options, {{"step", "12"}}).ok());
  absl::StatusOr<SafetensorsFile> file = ReadSafetensors(path);
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_NE(file->Find("transformer.h.1.mlp.c_proj.bias"), nullptr);
  EXPECT_EQ(file->Find("h.1.mlp.c_proj.bias"), nullptr);
  EXPECT_EQ(file->metadata().at("format"), "pt");
  EXPECT_EQ(file->metadata().at("step"), "12");
  EXPECT_EQ(file->metadata().at("kachi.shape"), DescribeShape(layout.shape()));
  std::vector<float> imported(layout.total_size(), 3.0f);
  ASSERT_TRUE(LoadHfGpt2(path, layout, options, imported.data()).ok());
  EXPECT_EQ(imported, model);
  // An empty prefix detects GPT2LMHeadModel's "transformer." names; a wrong explicit prefix names the missing tensor.
  std::vector<float> detected(layout.total_size(), 3.0f);
  ASSERT_TRUE(LoadHfGpt2(path, layout, {}, detected.data()).ok());
  EXPECT_EQ(detected, model);
  HfGpt2Options wrong;
  wrong.name_prefix = "param.";
  absl::Status unprefixed = LoadHfGpt2(path, layout, wrong, imported.data());
  EXPECT_EQ(unprefixed.code(), absl::StatusCode::kNotFound);
  EXPECT_NE(unprefixed.message().find(path), absl::string_view::npos) << unprefixed;
  EXPECT_NE(unprefixed.message().find("param.wte.weight"), absl::string_view::npos) << unprefixed;
  std::filesystem::remove_all(dir);
}

TEST(HfGpt2Test, Bf16ExportRoundsEachValue) {
  const ParameterLayout layout(TestShape(), 0, 1);
  const std::vector<float> model = RandomModel(layout, 15);
  HfGpt2Options options;
  options.dtype = SafetensorsDType::kBF16;
  SafetensorsFile file;
  ASSERT_TRUE(GatherHfGpt2Tensors(layout, model.data(), nullptr, options, &file).ok());
  EXPECT_EQ(file.Find("wpe.weight")->dtype, SafetensorsDType::kBF16);
  std::vector<float> imported(layout.total_size());
  ASSERT_TRUE(ImportHfGpt2(file, layout, options, imported.data()).ok());
  for (size_t i = 0; i < model.size(); ++i) {
    ASSERT_EQ(imported[i], BFloat16ToFloat(FloatToBFloat16(model[i]))) << i;
  }
}

TEST(HfGpt2Test, ImportZeroesPaddingRowsAndIgnoresExtraTensors) {
  const ParameterLayout layout(TestShape(), 0, 1);
  std::vector<float> model = RandomModel(layout, 16);
  SafetensorsFile file;
  ASSERT_TRUE(GatherHfGpt2Tensors(layout, model.data(), nullptr, {}, &file).ok());
  ASSERT_TRUE(file.AddFloats("h.0.attn.bias", {1, 1, 4, 4}, testing::NonZeroFloats(16, 17)).ok());  // HF buffer
  std::vector<float> imported = testing::NonZeroFloats(layout.total_size(), 18);
  ASSERT_TRUE(ImportHfGpt2(file, layout, {}, imported.data()).ok());
  const ParameterSpec& wte = layout.tensors()[layout.wte()];
  for (int64_t i = 250 * 64; i < wte.size; ++i)
    ASSERT_EQ(imported[wte.offset + i], 0.0f) << "padding row element " << i;
  EXPECT_EQ(imported, model);
}

TEST(HfGpt2Test, ImportErrorsNameTheTensorAndShapes) {
  const ParameterLayout layout(TestShape(), 0, 1);
  const std::vector<float> model = RandomModel(layout, 19);
  SafetensorsFile full;
  ASSERT_TRUE(GatherHfGpt2Tensors(layout, model.data(), nullptr, {}, &full).ok());
  std::vector<float> out(layout.total_size());

  // A padded wte (as llm.c stores it) where the real vocabulary is expected.
  SafetensorsFile padded;
  for (const auto& [name, tensor] : full.tensors()) {
    if (name == "wte.weight") {
      ASSERT_TRUE(padded.AddFloats(name, {256, 64}, testing::NonZeroFloats(256 * 64, 20)).ok());
    } else {
      ASSERT_TRUE(padded.Add(name, tensor.dtype, tensor.shape, tensor.bytes).ok());
    }
  }
  absl::Status shape = ImportHfGpt2(padded, layout, {}, out.data());
  EXPECT_EQ(shape.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(shape.message().find("\"wte.weight\" has shape [256, 64], expected [250, 64]"), absl::string_view::npos)
      << shape;

  // A kachi-layout (untransposed) Conv1D weight.
  SafetensorsFile untransposed;
  for (const auto& [name, tensor] : full.tensors()) {
    std::vector<int64_t> dims = tensor.shape;
    if (name == "h.1.mlp.c_fc.weight") dims = {256, 64};
    ASSERT_TRUE(untransposed.Add(name, tensor.dtype, dims, tensor.bytes).ok());
  }
  absl::Status transposed = ImportHfGpt2(untransposed, layout, {}, out.data());
  EXPECT_NE(transposed.message().find("\"h.1.mlp.c_fc.weight\" has shape [256, 64], expected [64, 256]"),
            absl::string_view::npos)
      << transposed;

  SafetensorsFile missing;
  for (const auto& [name, tensor] : full.tensors()) {
    if (name != "h.1.ln_2.bias") {
      ASSERT_TRUE(missing.Add(name, tensor.dtype, tensor.shape, tensor.bytes).ok());
    }
  }
  absl::Status absent = ImportHfGpt2(missing, layout, {}, out.data());
  EXPECT_EQ(absent.code(), absl::StatusCode::kNotFound);
  EXPECT_NE(absent.message().find("\"h.1.ln_2.bias\" is missing"), absl::string_view::npos) << absent;

  SafetensorsFile integer;
  for (const auto& [name, tensor] : full.tensors()) {
    if (name == "ln_f.weight") {
      ASSERT_TRUE(integer.AddInts(name, {64}, std::vector<int64_t>(64, 1), SafetensorsDType::kI32).ok());
    } else {
      ASSERT_TRUE(integer.Add(name, tensor.dtype, tensor.shape, tensor.bytes).ok());
    }
  }
  absl::Status dtype = ImportHfGpt2(integer, layout, {}, out.data());
  EXPECT_NE(dtype.message().find("\"ln_f.weight\" has dtype I32"), absl::string_view::npos) << dtype;
}

TEST(HfGpt2Test, RejectsACommunicatorThatDoesNotMatchTheLayout) {
  const ParameterLayout layout(TestShape(), 1, 2);  // rank 1 of 2, but no communicator (tp = 1)
  std::vector<float> values(layout.total_size(), 1.0f);
  SafetensorsFile file;
  absl::Status status = GatherHfGpt2Tensors(layout, values.data(), nullptr, {}, &file);
  EXPECT_NE(status.message().find("tp rank 1 of 2 but the communicator is rank 0 of 1"), absl::string_view::npos)
      << status;
}

}  // namespace
}  // namespace kachi
