// Equivalence of every parallel layout with the single-rank run (run under mpirun -np 4): a tiny GPT trained 10
// steps with the same seeds and global batch at (dp, tp) in {(1,1), (2,1), (4,1), (1,2), (2,2), (1,4)}, ZeRO-1 on
// and off, and gradient accumulation 1x4 vs 4x1, must give per-step losses within 1e-5 relative of the (1,1) run and
// final parameters within 1e-5 (per-tensor relative L2 error; see kKeyBiasTolerance for the one exception).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "comm/process_grid.h"
#include "gtest/gtest.h"
#include "runtime/data/token_shard.h"
#include "runtime/train/trainer.h"
#include "tests/train/shared_data_world.h"
#include "tests/train/train_test_util.h"

namespace kachi {
namespace {

constexpr double kLossTolerance = 1e-5;   // relative, per step
constexpr double kParamTolerance = 1e-5;  // ||a - b||_2 / ||b||_2, per tensor
// The key bias has an exactly zero gradient (softmax is invariant to adding q.b_k to every score of a row), so its
// values are rounding noise (|b_k| ~ 1e-6 after 10 steps) that AdamW's normalization amplifies differently in each
// layout; it cannot affect the loss. It is checked with an absolute bound instead of a relative one.
constexpr double kKeyBiasTolerance = 1e-5;
// AdamW's update g / (sqrt(v) + eps) turns the rounding noise of a gradient element whose true value is ~0 (1e-10
// after cancellation) into an update of up to lr * noise / eps, which differs between layouts. With eps = 1e-8 that
// put one random dataset in ten above 1e-5 (up to 1e-4, in varying tensors); eps = 1e-6 keeps every such element in
// the linear regime (worst 1.5e-6 over 14 random datasets). The comparison, not the runtime default, uses it.
constexpr double kAdamEps = 1e-6;

// What a run produced: per-step losses and the full (global) tensors at the end.
struct RunResult {
  std::vector<float> losses;
  std::vector<std::vector<float>> tensors;  // by layout tensor index, global row-major
};

class EquivalenceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // Rank 0 writes a shard of skewed random tokens into a directory every rank can read. A fixed dataset: over
    // fresh random datasets the worst tensor (a zero-initialized bias, whose small norm magnifies fp32 rounding in
    // the relative error) exceeded 1e-5 about once in 20 runs (1.24e-5 seen once), so a random one would make CI
    // flaky; this one sits well inside the bound and any real layout bug breaks it.
    auto shared = testing::SharedDataWorld::Create("kachi_equivalence", kShape.vocab_size, 20261122);
    ASSERT_TRUE(shared.ok()) << shared.status();
    shared_ = *std::move(shared);
    reference_ = new RunResult(Train(1, 1, 8, false, /*every_rank_alone=*/true));
  }

  static void TearDownTestSuite() {
    delete reference_;
    shared_.reset();
  }

  // Trains 10 steps at (dp, tp) with the given micro-batch (global batch 8) on the first dp*tp ranks; other ranks
  // return an empty result. With every_rank_alone (dp = tp = 1), every rank trains its own single-rank copy.
  static RunResult Train(int dp, int tp, int micro_batch, bool zero1, bool every_rank_alone = false) {
    RunResult result;
    const int members = dp * tp;
    const int color = every_rank_alone ? shared_->world().rank() : (shared_->world().rank() < members ? 0 : -1);
    auto grid = ProcessGrid::Carve(shared_->world(), color, tp, /*host=*/"");
    EXPECT_TRUE(grid.ok()) << grid.status();
    if (!grid.ok() || *grid == nullptr) return result;
    TrainOptions options =
        testing::TinyTrainOptions(kShape, shared_->data_dir() + "/train_*.bin", micro_batch, 10, zero1);
    options.adamw.grad_clip = 1.0;
    options.adamw.eps = kAdamEps;
    const std::unique_ptr<Trainer> trainer = testing::TrainedTrainer(options, grid->get(), &result.losses);
    if (trainer == nullptr) return result;
    // Global tensors over the tensor-parallel group (replicated tensors from tp rank 0 only).
    result.tensors = testing::GlobalTensors(trainer->model().layout(), trainer->model().params(), (*grid)->tp());
    return result;
  }

  // Checks a run against the single-rank reference.
  static void ExpectMatchesReference(const RunResult& run, const std::string& label) {
    ASSERT_EQ(reference_->losses.size(), 10u) << "the single-rank reference run failed";
    if (run.losses.empty()) return;  // not a member of this layout
    ASSERT_EQ(run.losses.size(), reference_->losses.size()) << label;
    for (size_t i = 0; i < run.losses.size(); ++i) {
      const double ref = reference_->losses[i];
      EXPECT_LE(std::fabs(run.losses[i] - ref) / std::fabs(ref), kLossTolerance)
          << label << " step " << i << ": " << run.losses[i] << " vs " << ref;
    }
    ASSERT_EQ(run.tensors.size(), reference_->tensors.size());
    const ParameterLayout names(kShape, 0, 1);
    const int64_t c = kShape.width;
    for (size_t t = 0; t < run.tensors.size(); ++t) {
      const std::string& name = names.tensors()[t].name;
      const bool qkv_bias = name.find("attn.c_attn.bias") != std::string::npos;
      double l2_diff = 0, l2_ref = 0, key_bias_diff = 0;
      for (size_t i = 0; i < run.tensors[t].size(); ++i) {
        const double ref = reference_->tensors[t][i];
        const double diff = double(run.tensors[t][i]) - ref;
        if (qkv_bias && static_cast<int64_t>(i) >= c && static_cast<int64_t>(i) < 2 * c) {
          key_bias_diff = std::max(key_bias_diff, std::fabs(diff));
          continue;
        }
        l2_diff += diff * diff;
        l2_ref += ref * ref;
      }
      EXPECT_LE(std::sqrt(l2_diff / l2_ref), kParamTolerance) << label << " tensor " << name;
      EXPECT_LE(key_bias_diff, kKeyBiasTolerance) << label << " key bias of " << name;
    }
  }

  static inline const GptShape kShape{2, 4, 32, 64, 64, 16};
  static inline std::unique_ptr<testing::SharedDataWorld> shared_;
  static inline RunResult* reference_ = nullptr;
};

TEST_F(EquivalenceTest, LossFallsOnTheReference) {
  ASSERT_EQ(reference_->losses.size(), 10u) << "the single-rank reference run failed";
  // Random tokens: the model can still learn the unigram distribution, so the loss must fall from ~log(64).
  EXPECT_NEAR(reference_->losses.front(), std::log(64.0), 0.3);
  EXPECT_LT(reference_->losses.back(), reference_->losses.front());
}

struct Layout {
  int dp, tp, micro_batch;
  bool zero1;
};

TEST_F(EquivalenceTest, EveryLayoutMatchesSingleRank) {
  const Layout layouts[] = {
      {2, 1, 4, false}, {4, 1, 2, false}, {1, 2, 8, false}, {2, 2, 4, false}, {1, 4, 8, false},
      {2, 1, 4, true},  {4, 1, 2, true},  {2, 2, 4, true},  {2, 2, 1, true},  // zero1, accumulation 4 at dp 2
  };
  for (const Layout& l : layouts) {
    const std::string label = "dp=" + std::to_string(l.dp) + " tp=" + std::to_string(l.tp) +
                              " micro=" + std::to_string(l.micro_batch) + (l.zero1 ? " zero1" : "");
    ExpectMatchesReference(Train(l.dp, l.tp, l.micro_batch, l.zero1), label);
  }
}

TEST_F(EquivalenceTest, AccumulationFourByOneEqualsOneByFour) {
  // (1,1): micro-batch 2 with accumulation 4 vs micro-batch 8 once (the reference).
  ExpectMatchesReference(Train(1, 1, 2, false), "dp=1 tp=1 micro=2 (accumulation 4)");
  ExpectMatchesReference(Train(1, 2, 2, false), "dp=1 tp=2 micro=2 (accumulation 4)");
}

}  // namespace
}  // namespace kachi
