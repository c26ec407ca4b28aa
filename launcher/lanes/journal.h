// The lanes journal (runtime/proto/lanes.proto, LanesJournal): reading and atomically rewriting it, turning policy
// decisions into journal entries, replaying a journal into a fresh policy (so `kachi lanes --resume` continues
// from the same state), and the card utilization it records.
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

// Feeds a fresh policy the journal's rounds: at each round Decide() (its decisions must match the journal's, else
// DataLoss naming the round), then the round's reports at time index + 1. Afterwards the policy is where it was
// after the journal's last round.
absl::Status ReplayJournal(const config::LanesJournal& journal, LanePolicy* policy);

// Card-time held by lanes over total card-time: sum over rounds of (cards held x seconds) / (pool cards x seconds).
// 0 for an empty journal.
double JournalUtilization(const config::LanesJournal& journal);

// The journal as text, one line each: "round R decision KIND lane L ...", "round R run lane L cards [..] steps
// A->B", "round R report KIND lane L step S loss X [reason]", then "utilization U", "best_lane L NAME" and
// "complete 0|1". `kachi lanes --journal DIR` prints it; tests read it.
std::string FormatJournal(const config::LanesJournal& journal);

// The lanes report's data from a journal: each lane's reported losses by step, its card spans (round by round,
// in wall seconds since the run began), and `statuses` (by lane; "running" where missing).
LanesReportData ReportDataFromJournal(const config::LanesJournal& journal, const std::string& title,
                                      const std::vector<std::string>& statuses);

}  // namespace kachi::lanes

#endif  // KACHI_LAUNCHER_LANES_JOURNAL_H_
