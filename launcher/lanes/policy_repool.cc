// LanePolicy::Repool (see policy.h): the policy moved onto a pool of another shape when `kachi lanes --resume`
// runs on the hosts left after a host loss (launcher/lanes/journal_repool.h).
#include "absl/strings/str_cat.h"
#include "launcher/lanes/policy.h"

namespace kachi::lanes {

absl::Status LanePolicy::Repool(PoolShape pool) {
  if (absl::Status status = ValidatePolicyInputs(pool, options_, specs_); !status.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("the lanes do not fit a pool of ", pool.cards, " cards (",
                                                   pool.CardsPerNode(), " per node): ", status.message()));
  }
  std::vector<std::vector<int>> widths;
  for (const LaneSpec& spec : specs_) widths.push_back(AllowedWidths(spec, pool));
  for (LaneStatus& s : lanes_) {
    if (s.state == LaneState::kRunning) {
      // Its chunk ended with the old job; it starts again from its checkpoint once the new pool has room.
      s.state = LaneState::kWaiting;
      s.waiting_since_s = now_s_;
    }
    s.cards.clear();
    s.previous_cards.clear();  // card numbers of the old pool mean other ranks (or none) now
  }
  widths_ = std::move(widths);
  pool_ = CardPool(pool);
  return absl::OkStatus();
}

}  // namespace kachi::lanes
