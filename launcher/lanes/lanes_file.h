// The lanes file (runtime/proto/lanes.proto): reading it, each expanded lane's effective training config and
// scheduling needs, and the pool and policy options it implies.
#ifndef KACHI_LAUNCHER_LANES_LANES_FILE_H_
#define KACHI_LAUNCHER_LANES_LANES_FILE_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "launcher/lanes/lane_expansion.h"
#include "launcher/lanes/policy_types.h"
#include "runtime/proto/lanes.pb.h"

namespace kachi::lanes {

// Parses protobuf text format into a LanesFile; errors read "<source>:<line>:<column>: <problem>".
absl::StatusOr<config::LanesFile> ParseLanesText(absl::string_view text, absl::string_view source);
// Reads and parses the file at `path` (NotFound when it cannot be read).
absl::StatusOr<config::LanesFile> LoadLanesFile(const std::string& path);

// The lane's training config: base with the lane's overrides applied, validated. Errors name the lane.
absl::StatusOr<config::KachiConfig> EffectiveConfig(const config::LanesFile& file, const LaneDefinition& lane);

// The lane's scheduling needs: tp from parallel.tp, batch_units = train.global_batch / train.micro_batch, its
// min/max cards (or the policy's defaults), its priority.
absl::StatusOr<LaneSpec> SpecForLane(const config::LanesFile& file, const LaneDefinition& lane);

// The pool: pool.cards, or `job_cards` when it is 0.
PoolShape PoolFromFile(const config::LanesFile& file, int job_cards);
// The policy's options: max_steps (or base.train.steps when 0), min_steps, eta, widening.
PolicyOptions PolicyOptionsFromFile(const config::LanesFile& file);

}  // namespace kachi::lanes

#endif  // KACHI_LAUNCHER_LANES_LANES_FILE_H_
