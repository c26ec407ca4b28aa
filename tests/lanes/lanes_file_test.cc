// Lanes files: the example configs parse, expand and simulate; grid and seeded random expansion; lane specs from
// the effective training config; errors that name the line, the lane or the axis.
#include "launcher/lanes/lanes_file.h"

#include <filesystem>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "launcher/lanes/sim_setup.h"
#include "launcher/lanes/simulator.h"

namespace kachi::lanes {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

config::LanesFile Load(const std::string& name) {
  absl::StatusOr<config::LanesFile> file = LoadLanesFile(std::string(KACHI_SOURCE_DIR) + "/configs/" + name);
  EXPECT_TRUE(file.ok()) << file.status();
  return file.ok() ? *file : config::LanesFile();
}

config::LanesFile Parse(const std::string& text) {
  absl::StatusOr<config::LanesFile> file = ParseLanesText(text, "test.pbtxt");
  EXPECT_TRUE(file.ok()) << file.status();
  return file.ok() ? *file : config::LanesFile();
}

TEST(LanesFileTest, EveryExampleConfigParsesExpandsAndSimulates) {
  int examples = 0;
  for (const auto& entry : std::filesystem::directory_iterator(std::string(KACHI_SOURCE_DIR) + "/configs")) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("lanes_", 0) != 0 || entry.path().extension() != ".pbtxt") continue;
    SCOPED_TRACE(name);
    ++examples;
    absl::StatusOr<std::unique_ptr<SimulationSetup>> setup = BuildSimulation(Load(name));
    ASSERT_TRUE(setup.ok()) << setup.status();
    absl::StatusOr<SimulationResult> result = Simulate((*setup)->input);
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_TRUE(result->best_lane.has_value()) << "some lane must finish";
  }
  EXPECT_GE(examples, 3);
}

TEST(LanesFileTest, LrSweepIsEightLanesOfOneOverrideEach) {
  const config::LanesFile file = Load("lanes_lr_sweep.pbtxt");
  absl::StatusOr<std::vector<LaneDefinition>> lanes = ExpandLanes(file);
  ASSERT_TRUE(lanes.ok()) << lanes.status();
  ASSERT_EQ(lanes->size(), 8u);
  EXPECT_EQ((*lanes)[2].name, "lr=6e-4");
  EXPECT_THAT((*lanes)[2].overrides, ElementsAre("optimizer.lr=6e-4"));
  absl::StatusOr<config::KachiConfig> config = EffectiveConfig(file, (*lanes)[2]);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_DOUBLE_EQ(config->optimizer().lr(), 6e-4);
  EXPECT_EQ(config->model().width(), 64) << "the base is kept under the override";
  absl::StatusOr<LaneSpec> spec = SpecForLane(file, (*lanes)[2]);
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->tp, 1);
  EXPECT_EQ(spec->batch_units, 4) << "global_batch 16 / micro_batch 4";
  const PolicyOptions options = PolicyOptionsFromFile(file);
  EXPECT_EQ(options.max_steps, 270) << "max_steps 0 takes base.train.steps";
  EXPECT_EQ(options.min_steps, 10);
  EXPECT_EQ(PoolFromFile(file, 4).cards, 4) << "pool.cards 0 takes the job's cards";
}

TEST(LanesFileTest, SearchExpandsListedLanesThenGridTimesSeededDraws) {
  config::LanesFile file = Load("lanes_search.pbtxt");
  absl::StatusOr<std::vector<LaneDefinition>> lanes = ExpandLanes(file);
  ASSERT_TRUE(lanes.ok()) << lanes.status();
  ASSERT_EQ(lanes->size(), 2u + 3 * 2 * 4);
  EXPECT_EQ((*lanes)[0].name, "baseline");
  EXPECT_EQ((*lanes)[0].priority, 1);
  absl::StatusOr<LaneSpec> tp_lane = SpecForLane(file, (*lanes)[1]);
  ASSERT_TRUE(tp_lane.ok()) << tp_lane.status();
  EXPECT_EQ(tp_lane->tp, 2);
  EXPECT_EQ(tp_lane->min_cards, 2);
  EXPECT_EQ(tp_lane->max_cards, 8) << "policy.max_cards is the default";
  for (size_t i = 2; i < lanes->size(); ++i) {
    const LaneDefinition& lane = (*lanes)[i];
    ASSERT_EQ(lane.overrides.size(), 4u) << lane.name;
    EXPECT_THAT(lane.overrides[0], HasSubstr("optimizer.lr="));
    EXPECT_THAT(lane.name, HasSubstr("layers="));
    absl::StatusOr<config::KachiConfig> config = EffectiveConfig(file, lane);
    ASSERT_TRUE(config.ok()) << config.status();
    EXPECT_GE(config->optimizer().weight_decay(), 0.01);
    EXPECT_LE(config->optimizer().weight_decay(), 0.3);
    EXPECT_GE(config->optimizer().warmup_steps(), 0);
    EXPECT_LE(config->optimizer().warmup_steps(), 200);
  }
  // Grid order: lr varies slowest, then layers, then the draws.
  EXPECT_THAT((*lanes)[2].overrides[0], "optimizer.lr=3e-4");
  EXPECT_THAT((*lanes)[2].overrides[1], "model.layers=2");
  EXPECT_THAT((*lanes)[6].overrides[1], "model.layers=4");
  absl::StatusOr<std::vector<LaneDefinition>> again = ExpandLanes(file);
  ASSERT_TRUE(again.ok());
  for (size_t i = 0; i < lanes->size(); ++i) EXPECT_EQ((*again)[i].overrides, (*lanes)[i].overrides);
  file.mutable_search()->set_seed(8);
  absl::StatusOr<std::vector<LaneDefinition>> reseeded = ExpandLanes(file);
  ASSERT_TRUE(reseeded.ok());
  EXPECT_NE((*reseeded)[2].overrides, (*lanes)[2].overrides) << "another seed draws other values";
}

TEST(LanesFileTest, ErrorsNameTheLineTheLaneOrTheAxis) {
  absl::StatusOr<config::LanesFile> syntax = ParseLanesText("pool {\n  cards: 4\n  nodes: 2\n}\n", "x.pbtxt");
  ASSERT_FALSE(syntax.ok());
  EXPECT_THAT(syntax.status().message(), HasSubstr("x.pbtxt:3:"));
  EXPECT_THAT(syntax.status().message(), HasSubstr("nodes"));

  config::LanesFile bad_override = Parse("lanes { name: \"a\" set: \"optimizer.lrr=1e-3\" }");
  absl::StatusOr<std::vector<LaneDefinition>> lanes = ExpandLanes(bad_override);
  ASSERT_TRUE(lanes.ok());
  EXPECT_THAT(SpecForLane(bad_override, (*lanes)[0]).status().message(), HasSubstr("lane 'a':"));
  EXPECT_THAT(SpecForLane(bad_override, (*lanes)[0]).status().message(), HasSubstr("lrr"));

  EXPECT_THAT(ExpandLanes(Parse("search { grid { field: \"optimizer.lr\" } }")).status().message(),
              HasSubstr("search.grid[0] (optimizer.lr): no values"));
  EXPECT_THAT(ExpandLanes(Parse("search { random { field: \"optimizer.lr\" min: 1e-4 max: 1e-2 } }"))
                  .status()
                  .message(),
              HasSubstr("random_lanes is 0"));
  EXPECT_THAT(ExpandLanes(Parse("search { random { field: \"optimizer.lr\" min: 0 max: 1 log_scale: true } "
                                "random_lanes: 2 }"))
                  .status()
                  .message(),
              HasSubstr("log_scale with min 0"));
  EXPECT_THAT(ExpandLanes(Parse("lanes { name: \"x\" } lanes { name: \"x\" }")).status().message(),
              HasSubstr("name 'x' is used twice"));

  config::LanesFile odd_batch = Parse("base { train { global_batch: 10 micro_batch: 4 } } lanes { name: \"b\" }");
  lanes = ExpandLanes(odd_batch);
  ASSERT_TRUE(lanes.ok());
  EXPECT_THAT(SpecForLane(odd_batch, (*lanes)[0]).status().message(),
              HasSubstr("train.global_batch 10 is not a positive multiple of train.micro_batch 4"));
}

}  // namespace
}  // namespace kachi::lanes
