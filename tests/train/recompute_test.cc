// Activation recompute (run under mpirun -np 4): training with train.activation_recompute on must give bitwise the
// same per-step losses and final parameters as with it off, at the same layout — fp32 at (1,1) with gradient
// accumulation and at (2,2); bf16 (CPU emulation) at (1,2) and at (2,2) with ZeRO-1 — since recomputing a block
// repeats exactly the same operations (tensor-parallel all-reduces included) on the same inputs. And the
// activations must shrink to one shared block plus one [N, C] output per layer, byte for byte.
#include <cstdio>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "comm/process_grid.h"
#include "gtest/gtest.h"
#include "runtime/train/trainer.h"
#include "tests/train/shared_data_world.h"
#include "tests/train/train_test_util.h"

namespace kachi {
namespace {

struct RunResult {
  std::vector<float> losses;
  std::vector<float> params;  // this rank's flat parameters (the fp32 master in bf16)
  int64_t activation_bytes = 0;
};

struct Case {
  int dp, tp, micro_batch;
  bool zero1;
  std::string precision;
};

std::string Label(const Case& c) {
  return "dp=" + std::to_string(c.dp) + " tp=" + std::to_string(c.tp) + " micro=" + std::to_string(c.micro_batch) +
         (c.zero1 ? " zero1 " : " ") + c.precision;
}

class RecomputeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto shared = testing::SharedDataWorld::Create("kachi_recompute", kShape.vocab_size);
    ASSERT_TRUE(shared.ok()) << shared.status();
    shared_ = *std::move(shared);
  }
  static void TearDownTestSuite() { shared_.reset(); }

  // Trains 5 steps on the first dp*tp ranks (others return an empty result).
  static RunResult Train(const Case& c, bool recompute) {
    RunResult result;
    const int color = shared_->world().rank() < c.dp * c.tp ? 0 : -1;
    auto grid = ProcessGrid::Carve(shared_->world(), color, c.tp, /*host=*/"");
    EXPECT_TRUE(grid.ok()) << grid.status();
    if (!grid.ok() || *grid == nullptr) return result;
    TrainOptions options;
    options.shape = kShape;
    options.precision = c.precision;
    options.activation_recompute = recompute;
    options.init_seed = 5;
    options.train_pattern = shared_->data_dir() + "/train_*.bin";
    options.seq_len = 16;
    options.data_seed = 3;
    options.global_batch = 8;
    options.micro_batch = c.micro_batch;
    options.steps = 5;
    options.schedule = LrSchedule{3e-3, 1, 5, 0.1};
    options.bucket_bytes = 2048;
    options.zero1 = c.zero1;
    options.log_every = 0;
    auto trainer = Trainer::Create(options, grid->get());
    EXPECT_TRUE(trainer.ok()) << trainer.status();
    if (!trainer.ok()) return result;
    if (!testing::RunSteps(**trainer, &result.losses)) return result;
    result.params.resize((*trainer)->model().buffer_size());
    EXPECT_TRUE((*trainer)->GetParameters(result.params.data()).ok());
    result.activation_bytes = (*trainer)->model().activation_bytes();
    return result;
  }

  // Four layers, so that recompute's saving is visible.
  static inline const GptShape kShape{4, 4, 32, 64, 64, 16};
  static inline std::unique_ptr<testing::SharedDataWorld> shared_;
};

TEST_F(RecomputeTest, SameLossesAndParametersBitForBit) {
  const Case cases[] = {
      {1, 1, 4, false, "fp32"},  // accumulation 2
      {2, 2, 2, false, "fp32"},  // dp 2 with accumulation 2, tp 2
      {1, 2, 8, false, "bf16"},
      {2, 2, 4, true, "bf16"},
  };
  for (const Case& c : cases) {
    const RunResult kept = Train(c, false);
    const RunResult recomputed = Train(c, true);
    if (kept.losses.empty() && recomputed.losses.empty()) continue;  // not a member of this layout
    ASSERT_EQ(kept.losses.size(), 5u) << Label(c);
    ASSERT_EQ(recomputed.losses.size(), 5u) << Label(c);
    for (size_t i = 0; i < kept.losses.size(); ++i) {
      EXPECT_EQ(std::memcmp(&kept.losses[i], &recomputed.losses[i], sizeof(float)), 0)
          << Label(c) << " step " << i << ": " << recomputed.losses[i] << " vs " << kept.losses[i];
    }
    ASSERT_EQ(kept.params.size(), recomputed.params.size());
    size_t differing = 0;
    for (size_t i = 0; i < kept.params.size(); ++i) {
      differing += std::memcmp(&kept.params[i], &recomputed.params[i], sizeof(float)) != 0;
    }
    EXPECT_EQ(differing, 0u) << Label(c) << ": parameters differ";
    EXPECT_GT(kept.losses.front(), kept.losses.back()) << Label(c) << ": the run did not learn";
  }
}

TEST_F(RecomputeTest, ActivationsShrinkToOneBlockAndTheBlockOutputs) {
  for (const Case& c : {Case{1, 1, 8, false, "fp32"}, Case{1, 2, 8, false, "bf16"}}) {
    const RunResult kept = Train(c, false);
    const RunResult recomputed = Train(c, true);
    if (kept.losses.empty()) continue;
    // One block's buffers per layer (T = compute type): ln_1, residual_2, ln_2, residual_3 [N, C]; qkv [N, 3C/tp];
    // atty [N, C/tp]; fc, fc_gelu [N, 4C/tp]; fp32 LayerNorm statistics 4 x [N] and the CPU attention's
    // probabilities [B, heads/tp, T, T].
    const int64_t n = 8 * 16, width = kShape.width, tp = c.tp, heads = kShape.heads / tp;
    const int64_t t_bytes = c.precision == "bf16" ? 2 : 4;
    const int64_t block = (4 * n * width + n * 3 * width / tp + n * width / tp + 2 * n * 4 * width / tp) * t_bytes +
                          (4 * n + 8 * heads * 16 * 16) * 4;
    // Recompute keeps one block without its output, plus every layer's output.
    const int64_t saved = kShape.layers * block - (block - n * width * t_bytes + kShape.layers * n * width * t_bytes);
    EXPECT_EQ(kept.activation_bytes - recomputed.activation_bytes, saved) << Label(c);
    EXPECT_LT(recomputed.activation_bytes, kept.activation_bytes / 2) << Label(c);
  }
}

}  // namespace
}  // namespace kachi
