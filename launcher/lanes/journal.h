// The lanes journal (runtime/proto/lanes.proto, LanesJournal): reading and atomically rewriting it, turning policy
// decisions into journal entries, feeding an event's reports to a policy (the coordinator live, and a replay into a
// fresh policy so `kachi lanes --resume` continues from the same state), and the card utilization it measured.
#ifndef KACHI_LAUNCHER_LANES_JOURNAL_H_
#define KACHI_LAUNCHER_LANES_JOURNAL_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "launcher/lanes/decision.h"
#include "launcher/lanes/policy.h"
#include "launcher/lanes/report_data.h"
#include "runtime/proto/lanes.pb.h"

namespace kachi::lanes {

// The journal's file name inside the run directory.
inline constexpr char kJournalFileName[] = "lanes_journal.pb";

// Reads the binary journal at `path` (NotFound when missing, DataLoss when it does not parse).
absl::StatusOr<config::LanesJournal> ReadJournal(const std::string& path);
// Writes `journal` to `path` atomically (temporary file + rename).
absl::Status WriteJournal(const std::string& path, const config::LanesJournal& journal);

// The journal entry of one decision.
config::LanesJournalDecision DecisionToJournal(const Decision& decision);

// Feeds `event`'s reports to `policy` at event.time_s (TARGET: OnRungReached, FAILURE: OnFailure, TICK: progress),
// then OnTick(time_s, progress). The coordinator calls it live, the replay on the journal's events.
absl::Status FeedEventReports(const config::LanesJournalEvent& event, LanePolicy* policy);

// Feeds a fresh policy the journal's events: at each event its reports (FeedEventReports), then Decide(), whose
// decisions must match the event's, else DataLoss naming the event. Afterwards the policy is where it was after the
// journal's last event.
absl::Status ReplayJournal(const config::LanesJournal& journal, LanePolicy* policy);

// The journal's clock at its last event (0 for none): the run's makespan so far.
double JournalSeconds(const config::LanesJournal& journal);

// Measured card utilization: card-seconds held by chunks (cards x (end_s - begin_s), summed over runs) over
// cards x JournalSeconds (after a repool, each pool's cards over its sessions' time). 0 for an empty journal.
double JournalUtilization(const config::LanesJournal& journal);

// The journal as text, one line each: "event E at T session S", "event E report KIND lane L step S loss X
// checkpoint C [reason]", "event E run lane L cards [..] steps A->B time B->E work W restored 0|1", after it
// "event E timing lane L cards N steps A->B train T checkpoint C" when the chunk's step and checkpoint seconds
// were measured (the checkpoint budget's input), "event E
// decision KIND lane L rung R step S cards [..] [loss X] [reason WHY]" (WHY: the policy's reason, e.g. "cut" for
// a lane paused at a chunk's checkpoint by predict_cut, "resumed" when it is promoted back), then "repool at event E cards C cards_per_node N" per
// pool change (journal_repool.h), then "utilization U", "best_lane L NAME" and
// "complete 0|1". `kachi lanes --journal DIR` prints it; tests read it.
std::string FormatJournal(const config::LanesJournal& journal);

// The lanes report's data from a journal: each lane's reported losses by step, its card spans (chunk by chunk, on
// the journal's clock), and `statuses` (by lane; "running" where missing).
LanesReportData ReportDataFromJournal(const config::LanesJournal& journal, const std::string& title,
                                      const std::vector<std::string>& statuses);

}  // namespace kachi::lanes

#endif  // KACHI_LAUNCHER_LANES_JOURNAL_H_
