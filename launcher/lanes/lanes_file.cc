// Reading lanes files; effective lane configs, lane specs, pool and policy options.
#include "launcher/lanes/lanes_file.h"

#include <algorithm>

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "runtime/config/config.h"
#include "runtime/config/overrides.h"

namespace kachi::lanes {

absl::StatusOr<config::LanesFile> ParseLanesText(absl::string_view text, absl::string_view source) {
  config::LanesFile file;
  if (absl::Status status = ParseTextProto(text, source, &file); !status.ok()) return status;
  return file;
}

absl::StatusOr<config::LanesFile> LoadLanesFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read lanes file '", path, "'"));
  std::stringstream text;
  text << in.rdbuf();
  return ParseLanesText(text.str(), path);
}

absl::StatusOr<config::KachiConfig> EffectiveConfig(const config::LanesFile& file, const LaneDefinition& lane) {
  config::KachiConfig config = file.base();
  absl::Status status = ApplyOverrides(lane.overrides, &config);
  if (status.ok()) status = ValidateConfig(config);
  if (!status.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("lane '", lane.name, "': ", status.message()));
  }
  return config;
}

absl::StatusOr<LaneSpec> SpecForLane(const config::LanesFile& file, const LaneDefinition& lane) {
  absl::StatusOr<config::KachiConfig> config = EffectiveConfig(file, lane);
  if (!config.ok()) return config.status();
  const config::TrainConfig& train = config->train();
  if (train.micro_batch() < 1 || train.global_batch() < 1 || train.global_batch() % train.micro_batch() != 0) {
    return absl::InvalidArgumentError(absl::StrCat("lane '", lane.name, "': train.global_batch ",
                                                   train.global_batch(), " is not a positive multiple of "
                                                   "train.micro_batch ", train.micro_batch()));
  }
  LaneSpec spec;
  spec.name = lane.name;
  spec.priority = lane.priority;
  spec.tp = config->parallel().tp();
  spec.min_cards = lane.min_cards > 0 ? lane.min_cards : static_cast<int>(file.policy().min_cards());
  spec.max_cards = lane.max_cards > 0 ? lane.max_cards : static_cast<int>(file.policy().max_cards());
  spec.batch_units = train.global_batch() / train.micro_batch();
  // The warmup, for the grace or for rungs in schedule time (which then replace the grace).
  if (file.policy().warmup_grace() || file.policy().schedule_rungs()) {
    spec.grace_steps = std::max(0, config->optimizer().warmup_steps());
  }
  return spec;
}

PoolShape PoolFromFile(const config::LanesFile& file, int job_cards) {
  PoolShape pool;
  pool.cards = file.pool().cards() > 0 ? static_cast<int>(file.pool().cards()) : job_cards;
  pool.cards_per_node = static_cast<int>(file.pool().cards_per_node());
  return pool;
}

PolicyOptions PolicyOptionsFromFile(const config::LanesFile& file) {
  const config::LanePolicyConfig& policy = file.policy();
  PolicyOptions options;
  options.max_steps = policy.max_steps() > 0 ? static_cast<int64_t>(policy.max_steps()) : file.base().train().steps();
  options.min_steps = static_cast<int64_t>(policy.min_steps());
  options.eta = static_cast<int>(policy.eta());
  options.successive_halving = policy.successive_halving();
  options.widen = policy.widen();
  options.widen_min_remaining_steps = static_cast<int64_t>(policy.widen_min_remaining_steps());
  options.promote_runners_up = policy.promote_runners_up();
  options.predict_final = policy.predict_final();
  options.predict_cut = policy.predict_cut();
  options.choose_by_fit = policy.choose_by_fit();
  options.schedule_rungs = policy.schedule_rungs();
  return options;
}

}  // namespace kachi::lanes
