// `kachi lanes --resume` on a pool of another size (the hosts left after a host loss, scripts/kachi-elastic.sh
// --lanes): the journal's events are replayed on the pools they ran on (the first session's, then each recorded
// LanesJournalRepool), and when this session's pool differs from the last one the policy moves onto it
// (LanePolicy::Repool: running lanes restart from their last journaled checkpoints; paused and finished lanes keep
// their state) and the change is recorded for later replays.
#ifndef KACHI_LAUNCHER_LANES_JOURNAL_REPOOL_H_
#define KACHI_LAUNCHER_LANES_JOURNAL_REPOOL_H_

#include <ostream>
#include <vector>

#include "absl/status/statusor.h"
#include "launcher/lanes/policy.h"
#include "runtime/proto/lanes.pb.h"

namespace kachi::lanes {

// Replays `journal` (its first session on journal.cards() cards in nodes of pool.cards_per_node, later ones as its
// repools say) into a fresh policy of `options` and `specs`; then, unless the journal is complete, moves it onto
// `pool` when that differs from the pool of its last session and appends the repool to `journal` (reported on
// `log` when not null). DataLoss when the replay does not give the journal's decisions, InvalidArgument when the
// lanes do not fit the new pool.
absl::StatusOr<LanePolicy> ReplayJournalOnPool(config::LanesJournal* journal, const PoolShape& pool,
                                               const PolicyOptions& options, const std::vector<LaneSpec>& specs,
                                               std::ostream* log);

}  // namespace kachi::lanes

#endif  // KACHI_LAUNCHER_LANES_JOURNAL_REPOOL_H_
