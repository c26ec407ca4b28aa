// kachi against PyTorch + transformers on a tiny GPT-2 (tests/data/torch_reference/*.safetensors, made by
// make_reference.py): imported weights give the same logits, loss and every gradient, and 10 AdamW steps on the
// same batch give the same losses. Error norm per tensor: max |kachi - torch| / max(max |torch|, 1e-30), which must
// stay below 1e-4 (both sides compute in float32, so only summation order differs). Two reference files (4 heads of
// size 16, and 1 head of size 64) on the CPU kernels, and the head-size-64 one on the CUDA kernels in fp32 mode (no
// TF32; flash attention's fp32 path needs head size 64) — skipped without a GPU.
#include <cctype>
#include <filesystem>
#include <memory>
#include <utility>

#include "absl/strings/numbers.h"
#include "gtest/gtest.h"
#include "kernels/adamw.h"
#include "runtime/io/hf_gpt2.h"
#include "runtime/io/safetensors.h"
#include "runtime/model/cuda_model_ops.h"
#include "runtime/model/gpt_model.h"
#include "tests/io/io_test_util.h"
#include "tests/test_util.h"

namespace kachi {
namespace {

constexpr double kTolerance = 1e-4;

// One check: a reference file and the kernels that run kachi's side.
struct ReferenceCase {
  const char* file;     // under tests/data/torch_reference/
  const char* kernels;  // "cpu" or "cuda"
};

std::string CaseName(const ::testing::TestParamInfo<ReferenceCase>& info) {
  std::string name = std::string(info.param.kernels) + "_" + info.param.file;
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return name;
}

// The reference file's tensors and a model holding its weights (skips when the file has not been generated yet,
// or for the CUDA kernels without a GPU).
class TorchReferenceTest : public ::testing::TestWithParam<ReferenceCase> {
 protected:
  void SetUp() override {
    const std::string path = std::string(KACHI_TORCH_REFERENCE_DIR) + "/" + GetParam().file;
    if (!std::filesystem::exists(path)) {
      GTEST_SKIP() << path << " does not exist yet: generate it with `python3 "
                   << "tests/data/torch_reference/make_reference.py` (needs torch, transformers, safetensors, "
                   << "numpy; see tests/data/torch_reference/README.md)";
    }
    if (std::string(GetParam().kernels) == "cuda") {
      KACHI_SKIP_WITHOUT_GPU();
      absl::StatusOr<std::unique_ptr<ModelOps>> ops = MakeCudaModelOps(0);
      ASSERT_TRUE(ops.ok()) << ops.status();
      ops_ = *std::move(ops);
    }
    absl::StatusOr<SafetensorsFile> file = ReadSafetensors(path);
    ASSERT_TRUE(file.ok()) << file.status();
    reference_ = *std::move(file);
    const auto& meta = reference_.metadata();
    ASSERT_TRUE(meta.count("batch") && meta.count("seq_len")) << "reference metadata lacks batch/seq_len";
    ASSERT_TRUE(absl::SimpleAtoi(meta.at("batch"), &batch_) && absl::SimpleAtoi(meta.at("seq_len"), &seq_len_));
    for (const char* name : {"inputs", "targets"}) {
      absl::StatusOr<std::vector<int64_t>> tokens = reference_.Ints(name);
      ASSERT_TRUE(tokens.ok()) << tokens.status();
      ASSERT_EQ(static_cast<int64_t>(tokens->size()), batch_ * seq_len_) << name;
      std::vector<int32_t>& out = std::string(name) == "inputs" ? inputs_ : targets_;
      out.assign(tokens->begin(), tokens->end());
    }
    GptShape shape;
    for (auto [key, field] : {std::pair{"n_layer", &shape.layers}, std::pair{"n_head", &shape.heads},
                              std::pair{"n_embd", &shape.width}, std::pair{"vocab_size", &shape.vocab_size},
                              std::pair{"n_positions", &shape.context}}) {
      ASSERT_TRUE(meta.count(key) && absl::SimpleAtoi(meta.at(key), field)) << "reference metadata lacks " << key;
    }
    shape.padded_vocab = shape.vocab_size;  // 256: no padding
    model_ = std::make_unique<GptModel>(shape, nullptr, 1, ops_.get());
    HfGpt2Options params;
    params.name_prefix = "param.";
    std::vector<float> host(model_->buffer_size(), 0.0f);
    absl::Status imported = ImportHfGpt2(reference_, model_->layout(), params, host.data());
    ASSERT_TRUE(imported.ok()) << imported;
    ASSERT_TRUE(model_->SetParameters(host.data()).ok());
  }

  // Reference tensor `name` as floats (fails the test when absent).
  std::vector<float> Reference(const std::string& name) {
    absl::StatusOr<std::vector<float>> values = reference_.Floats(name);
    EXPECT_TRUE(values.ok()) << values.status();
    return values.ok() ? *values : std::vector<float>();
  }

  std::unique_ptr<ModelOps> ops_;  // the CUDA ops (null: the CPU ops)
  SafetensorsFile reference_;
  int64_t batch_ = 0, seq_len_ = 0;
  std::vector<int32_t> inputs_, targets_;
  std::unique_ptr<GptModel> model_;
};

TEST_P(TorchReferenceTest, LogitsLossAndEveryGradientMatch) {
  ASSERT_TRUE(model_->ZeroGrads().ok());
  absl::StatusOr<float> loss = model_->ForwardBackward(inputs_.data(), targets_.data(), batch_, seq_len_, 1.0f);
  ASSERT_TRUE(loss.ok()) << loss.status();
  const std::vector<float> torch_loss = Reference("loss");
  ASSERT_EQ(torch_loss.size(), 1u);
  EXPECT_LT(testing::MaxNormRelativeError({*loss}, torch_loss), kTolerance)
      << "kachi loss " << *loss << " vs torch " << torch_loss[0];

  // The reference keeps the logits of its first rows (see its metadata); compare those rows. (Backward turned the
  // logits into their gradient in place: a forward pass brings them back.)
  const std::vector<float> torch_logits = Reference("logits");
  ASSERT_TRUE(model_->Loss(inputs_.data(), targets_.data(), batch_, seq_len_).ok());
  absl::StatusOr<std::vector<float>> logits_or = model_->LocalLogits();
  ASSERT_TRUE(logits_or.ok()) << logits_or.status();
  const std::vector<float>& logits = *logits_or;
  const int64_t vocab = model_->shape().padded_vocab;
  ASSERT_EQ(model_->shape().vocab_size, vocab) << "the tiny model has no vocabulary padding";
  ASSERT_GT(torch_logits.size(), 0u);
  ASSERT_EQ(torch_logits.size() % (seq_len_ * vocab), 0u);
  ASSERT_LE(torch_logits.size(), logits.size());
  const std::vector<float> compared(logits.begin(), logits.begin() + torch_logits.size());
  const double logits_error = testing::MaxNormRelativeError(compared, torch_logits);
  EXPECT_LT(logits_error, kTolerance);

  SafetensorsFile grads;
  HfGpt2Options grad_names;
  grad_names.name_prefix = "grad.";
  std::vector<float> host_grads(model_->buffer_size());
  ASSERT_TRUE(model_->ops().Download(host_grads.data(), model_->grads(), host_grads.size() * sizeof(float)).ok());
  ASSERT_TRUE(GatherHfGpt2Tensors(model_->layout(), host_grads.data(), nullptr, grad_names, &grads).ok());
  int compared_tensors = 0;
  for (const auto& [name, tensor] : grads.tensors()) {
    const SafetensorsTensor* torch_grad = reference_.Find(name);
    ASSERT_NE(torch_grad, nullptr) << "reference lacks " << name;
    ASSERT_EQ(torch_grad->shape, tensor.shape) << name;
    const double error = testing::MaxNormRelativeError(*grads.Floats(name), Reference(name));
    EXPECT_LT(error, kTolerance) << name;
    ++compared_tensors;
  }
  EXPECT_EQ(compared_tensors, static_cast<int>(model_->layout().tensors().size()));
}

TEST_P(TorchReferenceTest, TenAdamWStepsGiveTheSameLosses) {
  const auto& meta = reference_.metadata();
  cpu::AdamWHyperparameters hyper;
  ASSERT_TRUE(absl::SimpleAtod(meta.at("lr"), &hyper.learning_rate));
  ASSERT_TRUE(absl::SimpleAtod(meta.at("beta1"), &hyper.beta1));
  ASSERT_TRUE(absl::SimpleAtod(meta.at("beta2"), &hyper.beta2));
  ASSERT_TRUE(absl::SimpleAtod(meta.at("eps"), &hyper.eps));
  double weight_decay = 0;
  ASSERT_TRUE(absl::SimpleAtod(meta.at("weight_decay"), &weight_decay));
  const std::vector<float> torch_losses = Reference("adamw_losses");
  ASSERT_FALSE(torch_losses.empty());

  const ParameterLayout& layout = model_->layout();
  ModelOps& ops = model_->ops();
  OpsBuffer<float> m(&ops, model_->buffer_size()), v(&ops, model_->buffer_size());  // zeroed
  std::vector<float> losses;
  for (size_t step = 1; step <= torch_losses.size(); ++step) {
    ASSERT_TRUE(model_->ZeroGrads().ok());
    absl::StatusOr<float> loss = model_->ForwardBackward(inputs_.data(), targets_.data(), batch_, seq_len_, 1.0f);
    ASSERT_TRUE(loss.ok()) << loss.status();
    losses.push_back(*loss);
    for (const ParameterSpec& spec : layout.tensors()) {
      // torch: weight decay on 2-D weights only.
      ASSERT_TRUE(ops.AdamWStep(model_->params() + spec.offset, model_->grads() + spec.offset,
                                m.data() + spec.offset, v.data() + spec.offset, spec.size, hyper.learning_rate,
                                hyper.beta1, hyper.beta2, hyper.eps, spec.decay ? weight_decay : 0.0,
                                static_cast<int64_t>(step))
                      .ok());
    }
  }
  for (size_t i = 0; i < losses.size(); ++i) {
    EXPECT_LT(testing::MaxNormRelativeError({losses[i]}, {torch_losses[i]}), kTolerance)
        << "loss before step " << i + 1 << ": kachi " << losses[i] << " torch " << torch_losses[i];
  }
  EXPECT_LT(losses.back(), losses.front()) << "AdamW on one batch must lower its loss";
}

INSTANTIATE_TEST_SUITE_P(
    References, TorchReferenceTest,
    ::testing::Values(ReferenceCase{"gpt2_tiny_reference.safetensors", "cpu"},
                      ReferenceCase{"gpt2_tiny_hs64_reference.safetensors", "cpu"},
                      ReferenceCase{"gpt2_tiny_hs64_reference.safetensors", "cuda"}),
    CaseName);

}  // namespace
}  // namespace kachi
