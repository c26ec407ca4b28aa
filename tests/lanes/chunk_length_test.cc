// Chunk lengths under a checkpoint budget (launcher/lanes/chunk_length.h, issue 18): the rule on fixed and fresh
// random measurements (a chunk's checkpoint share within the budget, the target never passed, the steps to a target
// split evenly), the per-width measurements, and the simulator's chunks (the same rule fed with its timing) keeping
// each lane's checkpoint share within the budget where fixed chunks do not; the simulator's loss-sample experiment.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "launcher/lanes/chunk_length.h"
#include "launcher/lanes/sim_setup.h"
#include "launcher/lanes/simulator.h"

namespace kachi::lanes {
namespace {

// The checkpoint's share of a chunk of `steps` steps.
double Share(const ChunkTiming& t, int64_t steps) { return t.checkpoint_s / (steps * t.step_s + t.checkpoint_s); }

TEST(ChunkLengthTest, WithoutABudgetChunksAreFixedAndEndAtTheTarget) {
  const ChunkBudget fixed{100, 0, 100};
  const ChunkTiming slow{1.0, 1000.0};  // a measurement changes nothing without a budget
  EXPECT_EQ(NextChunkSteps(fixed, std::nullopt, 0, 8100), 100);
  EXPECT_EQ(NextChunkSteps(fixed, slow, 0, 8100), 100);
  EXPECT_EQ(NextChunkSteps(fixed, slow, 250, 300), 50);  // the rung ends the chunk
  EXPECT_EQ(NextChunkSteps(fixed, slow, 300, 300), 0);
}

TEST(ChunkLengthTest, ABudgetSizesTheChunkFromTheMeasurement) {
  // 1 s per step, 10 s per checkpoint: a 10% budget needs 90 steps (10 / (90 + 10) = 10%), 5% 190, 2% 490.
  const ChunkTiming t{1.0, 10.0};
  EXPECT_EQ(BudgetChunkSteps(ChunkBudget{100, 0.10, 1}, t), 90);
  EXPECT_EQ(BudgetChunkSteps(ChunkBudget{100, 0.05, 1}, t), 190);
  EXPECT_EQ(BudgetChunkSteps(ChunkBudget{100, 0.02, 1}, t), 490);
  EXPECT_EQ(BudgetChunkSteps(ChunkBudget{100, 0.10, 100}, t), 100);  // the floor
  EXPECT_EQ(BudgetChunkSteps(ChunkBudget{100, 0.10, 1}, std::nullopt), 100);  // unmeasured: the default
  // A widened lane (0.1 s per step) needs 10x the steps for the same share.
  EXPECT_EQ(BudgetChunkSteps(ChunkBudget{100, 0.10, 1}, ChunkTiming{0.1, 10.0}), 900);
  // The 490 steps to a target 490 away are one chunk; 700 away: one chunk of 700 (no 210-step tail); 1000 away:
  // two of 500.
  const ChunkBudget two{100, 0.02, 100};
  EXPECT_EQ(NextChunkSteps(two, t, 0, 490), 490);
  EXPECT_EQ(NextChunkSteps(two, t, 0, 700), 700);
  EXPECT_EQ(NextChunkSteps(two, t, 0, 1000), 500);
  EXPECT_EQ(NextChunkSteps(two, t, 0, 300), 300);  // nearer than the budget allows: the target ends it
}

TEST(ChunkLengthTest, OnRandomMeasurementsEveryChunkToATargetKeepsTheBudget) {
  std::mt19937_64 rng(20261204);
  std::uniform_real_distribution<double> log_step(std::log(1e-3), std::log(10.0));
  std::uniform_real_distribution<double> log_ckpt(std::log(1e-3), std::log(100.0));
  std::uniform_real_distribution<double> budget(0.005, 0.5);
  std::uniform_int_distribution<int64_t> step(0, 20000), floor(1, 300);
  for (int trial = 0; trial < 2000; ++trial) {
    const ChunkTiming t{std::exp(log_step(rng)), std::exp(log_ckpt(rng))};
    const ChunkBudget b{floor(rng), budget(rng), floor(rng)};
    const int64_t from = step(rng), target = from + 1 + step(rng);
    const int64_t n = BudgetChunkSteps(b, t);
    ASSERT_GE(n, b.min_steps);
    // n is the fewest steps that keep the share within the budget (above the floor).
    ASSERT_LE(Share(t, n), b.checkpoint_budget * (1 + 1e-9)) << "trial " << trial;
    if (n > b.min_steps && n > 1) ASSERT_GT(Share(t, n - 1), b.checkpoint_budget * (1 - 1e-9)) << "trial " << trial;
    // Chunk after chunk to the target: never past it, all within one step of each other, each at least n long
    // (so each within the budget) unless the whole way is shorter than n.
    std::vector<int64_t> lengths;
    for (int64_t at = from; at < target;) {
      const int64_t steps = NextChunkSteps(b, t, at, target);
      ASSERT_GE(steps, 1);
      ASSERT_LE(at + steps, target);
      lengths.push_back(steps);
      at += steps;
    }
    const auto [lo, hi] = std::minmax_element(lengths.begin(), lengths.end());
    ASSERT_LE(*hi - *lo, 1) << "trial " << trial;
    if (target - from >= n) {
      ASSERT_GE(*lo, n) << "trial " << trial;
    } else {
      ASSERT_EQ(lengths.size(), 1u);
    }
  }
}

TEST(ChunkLengthTest, MeasurementsAreKeptPerLaneAndWidth) {
  ChunkMeasurements m(2);
  EXPECT_FALSE(m.At(0, 1).has_value());
  m.Record(0, 1, 10, 5.0, 2.0);
  m.Record(0, 4, 20, 4.0, 1.0);
  m.Record(1, 1, 0, 5.0, 2.0);   // no steps: ignored
  m.Record(1, 2, 10, 0.0, 2.0);  // no time: ignored
  m.Record(5, 1, 1, 1.0, 1.0);   // a lane past the size grows it
  ASSERT_TRUE(m.At(0, 1).has_value());
  EXPECT_DOUBLE_EQ(m.At(0, 1)->step_s, 0.5);
  EXPECT_DOUBLE_EQ(m.At(0, 1)->checkpoint_s, 2.0);
  EXPECT_DOUBLE_EQ(m.At(0, 4)->step_s, 0.2);
  EXPECT_FALSE(m.At(0, 2).has_value());
  EXPECT_FALSE(m.At(1, 1).has_value());
  EXPECT_FALSE(m.At(1, 2).has_value());
  EXPECT_TRUE(m.At(5, 1).has_value());
  m.Record(0, 1, 10, 10.0, 3.0);  // the newest replaces the older
  EXPECT_DOUBLE_EQ(m.At(0, 1)->step_s, 1.0);
  EXPECT_DOUBLE_EQ(m.At(0, 1)->checkpoint_s, 3.0);
}

TEST(ChunkLengthTest, InvalidBudgetsAreErrors) {
  EXPECT_TRUE(ValidateChunkBudget(ChunkBudget{100, 0.1, 100}).ok());
  EXPECT_FALSE(ValidateChunkBudget(ChunkBudget{100, 1.0, 100}).ok());
  EXPECT_FALSE(ValidateChunkBudget(ChunkBudget{100, -0.1, 100}).ok());
  EXPECT_FALSE(ValidateChunkBudget(ChunkBudget{0, 0.1, 100}).ok());
  EXPECT_FALSE(ValidateChunkBudget(ChunkBudget{100, 0.1, 0}).ok());
  EXPECT_FALSE(ValidateChunkBudget(ChunkBudget{100, std::nan(""), 100}).ok());
}

// Simulates the default synthetic family (64 lanes, 16 cards, 100-step chunks, 1 s per step, 10 s per checkpoint)
// with checkpoint budget `budget`, keeping every chunk.
SimulationResult SimulateWithBudget(double budget, uint64_t seed) {
  config::LanesFile file = DefaultSimulationFile();
  file.mutable_simulator()->set_seed(seed);
  file.mutable_chunks()->set_checkpoint_budget(budget);
  absl::StatusOr<std::unique_ptr<SimulationSetup>> setup = BuildSimulation(file);
  EXPECT_TRUE(setup.ok()) << setup.status();
  SimulationInput input = (*setup)->input;
  input.keep_chunks = true;
  absl::StatusOr<SimulationResult> result = Simulate(input);
  EXPECT_TRUE(result.ok()) << result.status();
  return *std::move(result);
}

// Chunks that break the budget: not the lane's first at its width (that one is the default length, nothing being
// measured yet) and not a whole way to a target shorter than the budget allows.
int OverBudget(const SimulationResult& result, double budget, const std::set<int64_t>& targets, int* checked) {
  std::set<std::pair<int, int>> measured;
  int over = 0;
  *checked = 0;
  for (const SimChunk& chunk : result.chunk_log) {
    const int64_t steps = chunk.to_step - chunk.from_step;
    const double step_s = chunk.train_s / steps;
    const auto needed = static_cast<int64_t>(std::ceil(chunk.checkpoint_s * (1 - budget) / (budget * step_s) - 1e-9));
    const bool first = measured.insert({chunk.lane, chunk.cards}).second;
    const bool short_way = targets.count(chunk.to_step) > 0 && steps < std::max<int64_t>(needed, 100);
    if (first || short_way) continue;
    ++*checked;
    if (chunk.checkpoint_s > budget * (chunk.train_s + chunk.checkpoint_s) * (1 + 1e-9)) ++over;
  }
  return over;
}

TEST(ChunkLengthTest, SimulatedChunksKeepTheirCheckpointShareWithinTheBudget) {
  const std::set<int64_t> targets{100, 300, 900, 2700, 8100};
  for (uint64_t seed : {1u, 2u}) {
    const SimulationResult budgeted = SimulateWithBudget(0.05, seed);
    int checked = 0;
    EXPECT_EQ(OverBudget(budgeted, 0.05, targets, &checked), 0) << "seed " << seed;
    EXPECT_GT(checked, 30) << "seed " << seed;
    // Widened lanes run longer chunks than 1-card lanes (a step is shorter, the checkpoint the same).
    int64_t longest_wide = 0, longest_narrow = 0;
    for (const SimChunk& chunk : budgeted.chunk_log) {
      int64_t& longest = chunk.cards > 1 ? longest_wide : longest_narrow;
      longest = std::max(longest, chunk.to_step - chunk.from_step);
    }
    EXPECT_GT(longest_wide, longest_narrow) << "seed " << seed;
    const double share = budgeted.chunk_checkpoint_card_s /
                         (budgeted.chunk_checkpoint_card_s + budgeted.chunk_train_card_s);
    // Fixed 100-step chunks: the same check fails (10 s of 110 s is 9%), and the checkpoints take a larger share.
    const SimulationResult fixed = SimulateWithBudget(0, seed);
    int fixed_checked = 0;
    EXPECT_GT(OverBudget(fixed, 0.05, targets, &fixed_checked), fixed_checked / 2) << "seed " << seed;
    const double fixed_share =
        fixed.chunk_checkpoint_card_s / (fixed.chunk_checkpoint_card_s + fixed.chunk_train_card_s);
    EXPECT_LT(share, fixed_share) << "seed " << seed;
    std::printf("seed %d: checkpoint share of chunk card-time %.3f (fixed 100-step chunks %.3f); pool GPU-h %.1f "
                "(fixed %.1f); chunks %d (fixed %d)\n", static_cast<int>(seed), share, fixed_share,
                budgeted.PoolGpuHours(), fixed.PoolGpuHours(), budgeted.chunks, fixed.chunks);
  }
}

// The loss-sample experiment (SimTiming::loss_sample_steps, simulator only): nothing changes when no chunk is longer
// than the sampling period; with a budget's long chunks the policy gets the samples and decides otherwise.
TEST(ChunkLengthTest, LossSamplesInsideLongChunksReachThePolicy) {
  auto run = [](double budget, int64_t samples) {
    config::LanesFile file = DefaultSimulationFile();
    file.mutable_policy()->set_promote_runners_up(true);
    file.mutable_chunks()->set_checkpoint_budget(budget);
    absl::StatusOr<std::unique_ptr<SimulationSetup>> setup = BuildSimulation(file);
    EXPECT_TRUE(setup.ok()) << setup.status();
    SimulationInput input = (*setup)->input;
    input.keep_decisions = true;
    input.timing.loss_sample_steps = samples;
    absl::StatusOr<SimulationResult> result = Simulate(input);
    EXPECT_TRUE(result.ok()) << result.status();
    return *std::move(result);
  };
  auto same = [](const SimulationResult& a, const SimulationResult& b) {
    if (a.decisions.size() != b.decisions.size() || a.makespan_s != b.makespan_s) return false;
    for (size_t i = 0; i < a.decisions.size(); ++i) {
      if (a.decisions[i].kind != b.decisions[i].kind || a.decisions[i].lane != b.decisions[i].lane ||
          a.decisions[i].step != b.decisions[i].step) {
        return false;
      }
    }
    return true;
  };
  EXPECT_TRUE(same(run(0, 100), run(0, 0)));        // 100-step chunks: no sample inside any
  EXPECT_FALSE(same(run(0.02, 100), run(0.02, 0)));  // 490-step chunks: samples change decisions
}

}  // namespace
}  // namespace kachi::lanes
