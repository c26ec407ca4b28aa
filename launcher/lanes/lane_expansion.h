// Expanding a lanes file into its lanes: the listed lanes, then the search space (every grid point times seeded
// random draws), each with a unique name and the overrides of the base config that define it.
#ifndef KACHI_LAUNCHER_LANES_LANE_EXPANSION_H_
#define KACHI_LAUNCHER_LANES_LANE_EXPANSION_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/proto/lanes.pb.h"

namespace kachi::lanes {

// One lane after expansion: a unique name, overrides of the base config, and scheduling options (0 = defaults).
struct LaneDefinition {
  std::string name;
  std::vector<std::string> overrides;
  int priority = 0;
  int min_cards = 0;
  int max_cards = 0;
};

// The file's lanes: listed lanes first (unnamed ones become "lane<index>"), then every grid point of the search
// space times its random draws, named "field=value,..." by the last component of each field. The same file (and
// search seed) gives the same lanes. Errors: a bad axis, a duplicate name.
absl::StatusOr<std::vector<LaneDefinition>> ExpandLanes(const config::LanesFile& file);

}  // namespace kachi::lanes

#endif  // KACHI_LAUNCHER_LANES_LANE_EXPANSION_H_
