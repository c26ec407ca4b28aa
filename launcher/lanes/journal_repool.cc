// Replaying a lanes journal across pool changes (see journal_repool.h).
#include "launcher/lanes/journal_repool.h"

#include "absl/strings/str_cat.h"
#include "launcher/lanes/journal.h"

namespace kachi::lanes {
namespace {

// Events [begin, end) of `journal` as a journal of their own (ReplayJournal reads only the events).
config::LanesJournal EventRange(const config::LanesJournal& journal, int begin, int end) {
  config::LanesJournal part;
  for (int e = begin; e < end; ++e) *part.add_events() = journal.events(e);
  return part;
}

}  // namespace

absl::StatusOr<LanePolicy> ReplayJournalOnPool(config::LanesJournal* journal, const PoolShape& pool,
                                               const PolicyOptions& options, const std::vector<LaneSpec>& specs,
                                               std::ostream* log) {
  PoolShape shape{static_cast<int>(journal->cards()), pool.cards_per_node};
  absl::StatusOr<LanePolicy> policy = LanePolicy::Create(shape, options, specs);
  if (!policy.ok()) {
    return absl::Status(policy.status().code(), absl::StrCat("replaying the lanes journal on its first pool of ",
                                                             shape.cards, " cards: ", policy.status().message()));
  }
  int begin = 0;
  for (const config::LanesJournalRepool& repool : journal->repools()) {
    const int end = static_cast<int>(repool.first_event());
    if (end < begin || end > journal->events_size()) {
      return absl::DataLossError(absl::StrCat("lanes journal: a pool change at event ", end, " after event ",
                                              begin, " of ", journal->events_size()));
    }
    if (absl::Status status = ReplayJournal(EventRange(*journal, begin, end), &*policy); !status.ok()) return status;
    shape = PoolShape{static_cast<int>(repool.cards()), static_cast<int>(repool.cards_per_node())};
    if (absl::Status status = policy->Repool(shape); !status.ok()) return status;
    begin = end;
  }
  if (absl::Status status = ReplayJournal(EventRange(*journal, begin, journal->events_size()), &*policy);
      !status.ok()) {
    return status;
  }
  if (journal->complete() || (shape.cards == pool.cards && shape.CardsPerNode() == pool.CardsPerNode())) {
    return policy;
  }
  if (absl::Status status = policy->Repool(pool); !status.ok()) return status;
  config::LanesJournalRepool* repool = journal->add_repools();
  repool->set_first_event(static_cast<uint32_t>(journal->events_size()));
  repool->set_cards(static_cast<uint32_t>(pool.cards));
  repool->set_cards_per_node(static_cast<uint32_t>(pool.cards_per_node));
  if (log != nullptr) {
    *log << "kachi lanes: the pool changed from " << shape.cards << " to " << pool.cards << " cards ("
         << pool.CardsPerNode() << " per node) after event " << journal->events_size() - 1
         << ": running lanes restart from their last journaled checkpoints\n";
  }
  return policy;
}

}  // namespace kachi::lanes
