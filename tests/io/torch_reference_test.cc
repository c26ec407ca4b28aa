// kachi against PyTorch + transformers on a tiny GPT-2 (tests/data/torch_reference/gpt2_tiny_reference.safetensors,
// made by make_reference.py): imported weights give the same logits, loss and every gradient, and 10 AdamW steps on
// the same batch give the same losses. Error norm per tensor: max |kachi - torch| / max(max |torch|, 1e-30), which
// must stay below 1e-4 (both sides compute in float32, so only summation order differs).
#include <filesystem>

#include "absl/strings/numbers.h"
#include "gtest/gtest.h"
#include "kernels/adamw.h"
#include "runtime/io/hf_gpt2.h"
#include "runtime/io/safetensors.h"
#include "runtime/model/gpt_model.h"
#include "tests/io/io_test_util.h"

namespace kachi {
namespace {

constexpr double kTolerance = 1e-4;

// The reference file's tensors, or a skip when it has not been generated yet.
class TorchReferenceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string path = KACHI_TORCH_REFERENCE_FILE;
    if (!std::filesystem::exists(path)) {
      GTEST_SKIP() << path << " does not exist yet: generate it with `python3 "
                   << "tests/data/torch_reference/make_reference.py` (needs torch, transformers, safetensors, "
                   << "numpy; see tests/data/torch_reference/README.md)";
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
    absl::StatusOr<GptShape> shape = GptPreset("tiny");  // vocab 256 (padded 256), context 64, 2L 4H 64C
    ASSERT_TRUE(shape.ok());
    ASSERT_EQ(meta.at("n_layer"), std::to_string(shape->layers));
    ASSERT_EQ(meta.at("n_head"), std::to_string(shape->heads));
    ASSERT_EQ(meta.at("n_embd"), std::to_string(shape->width));
    ASSERT_EQ(meta.at("vocab_size"), std::to_string(shape->vocab_size));
    ASSERT_EQ(meta.at("n_positions"), std::to_string(shape->context));
    model_ = std::make_unique<GptModel>(*shape, nullptr);
    HfGpt2Options params;
    params.name_prefix = "param.";
    absl::Status imported = ImportHfGpt2(reference_, model_->layout(), params, model_->params());
    ASSERT_TRUE(imported.ok()) << imported;
  }

  // Reference tensor `name` as floats (fails the test when absent).
  std::vector<float> Reference(const std::string& name) {
    absl::StatusOr<std::vector<float>> values = reference_.Floats(name);
    EXPECT_TRUE(values.ok()) << values.status();
    return values.ok() ? *values : std::vector<float>();
  }

  SafetensorsFile reference_;
  int64_t batch_ = 0, seq_len_ = 0;
  std::vector<int32_t> inputs_, targets_;
  std::unique_ptr<GptModel> model_;
};

TEST_F(TorchReferenceTest, LogitsLossAndEveryGradientMatch) {
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
  ASSERT_TRUE(GatherHfGpt2Tensors(model_->layout(), model_->grads(), nullptr, grad_names, &grads).ok());
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

TEST_F(TorchReferenceTest, TenAdamWStepsGiveTheSameLosses) {
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
  std::vector<float> m(layout.total_size(), 0.0f), v(layout.total_size(), 0.0f);
  std::vector<float> losses;
  for (size_t step = 1; step <= torch_losses.size(); ++step) {
    ASSERT_TRUE(model_->ZeroGrads().ok());
    absl::StatusOr<float> loss = model_->ForwardBackward(inputs_.data(), targets_.data(), batch_, seq_len_, 1.0f);
    ASSERT_TRUE(loss.ok()) << loss.status();
    losses.push_back(*loss);
    for (const ParameterSpec& spec : layout.tensors()) {
      cpu::AdamWHyperparameters tensor_hyper = hyper;
      tensor_hyper.weight_decay = spec.decay ? weight_decay : 0.0;  // torch: decay on 2-D weights only
      cpu::AdamWStep(model_->params() + spec.offset, model_->grads() + spec.offset, m.data() + spec.offset,
                     v.data() + spec.offset, spec.size, tensor_hyper, static_cast<int64_t>(step));
    }
  }
  for (size_t i = 0; i < losses.size(); ++i) {
    EXPECT_LT(testing::MaxNormRelativeError({losses[i]}, {torch_losses[i]}), kTolerance)
        << "loss before step " << i + 1 << ": kachi " << losses[i] << " torch " << torch_losses[i];
  }
  EXPECT_LT(losses.back(), losses.front()) << "AdamW on one batch must lower its loss";
}

}  // namespace
}  // namespace kachi
