// The lanes journal: atomic I/O, decision entries, replay into a policy, utilization.
#include "launcher/lanes/journal.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "runtime/io/atomic_file.h"

namespace kachi::lanes {

absl::StatusOr<config::LanesJournal> ReadJournal(const std::string& path) {
  absl::StatusOr<std::string> bytes = ReadWholeFile(path);
  if (!bytes.ok()) return absl::NotFoundError(absl::StrCat("lanes journal: ", bytes.status().message()));
  config::LanesJournal journal;
  if (!journal.ParseFromString(*bytes)) {
    return absl::DataLossError(absl::StrCat("lanes journal ", path, ": ", bytes->size(),
                                            " bytes that do not parse as a LanesJournal"));
  }
  return journal;
}

absl::Status WriteJournal(const std::string& path, const config::LanesJournal& journal) {
  std::string bytes;
  if (!journal.SerializeToString(&bytes)) {
    return absl::InternalError(absl::StrCat("lanes journal ", path, ": serialization failed"));
  }
  return WriteFileAtomically(path, bytes);
}

config::LanesJournalDecision DecisionToJournal(const Decision& decision) {
  config::LanesJournalDecision entry;
  entry.set_kind(DecisionKindName(decision.kind));
  entry.set_lane(decision.lane);
  entry.set_rung(decision.rung);
  entry.set_step(decision.step);
  if (!std::isnan(decision.loss)) entry.set_loss(decision.loss);
  for (int card : decision.cards) entry.add_cards(card);
  if (!decision.reason.empty()) entry.set_reason(decision.reason);
  return entry;
}

namespace {

// Whether two decision entries say the same thing (the loss compared bitwise through its presence and value).
bool SameDecision(const config::LanesJournalDecision& a, const config::LanesJournalDecision& b) {
  return a.SerializeAsString() == b.SerializeAsString();
}

}  // namespace

absl::Status ReplayJournal(const config::LanesJournal& journal, LanePolicy* policy) {
  for (const config::LanesJournalRound& round : journal.rounds()) {
    std::vector<Decision> decisions = policy->Decide();
    if (static_cast<int>(decisions.size()) != round.decisions_size()) {
      return absl::DataLossError(absl::StrCat("lanes journal round ", round.index(), ": the policy decides ",
                                              decisions.size(), " things on replay, the journal holds ",
                                              round.decisions_size()));
    }
    for (size_t i = 0; i < decisions.size(); ++i) {
      if (!SameDecision(DecisionToJournal(decisions[i]), round.decisions(static_cast<int>(i)))) {
        return absl::DataLossError(absl::StrCat("lanes journal round ", round.index(), ": decision ", i,
                                                " on replay is '", DecisionToJournal(decisions[i]).ShortDebugString(),
                                                "', the journal holds '",
                                                round.decisions(static_cast<int>(i)).ShortDebugString(), "'"));
      }
    }
    const double now_s = static_cast<double>(round.index()) + 1;
    std::vector<LaneProgress> progress;
    for (const config::LanesJournalReport& report : round.reports()) {
      absl::Status status;
      switch (report.kind()) {
        case config::LanesJournalReport::TARGET:
          status = policy->OnRungReached(report.lane(), report.step(), report.loss(), now_s);
          break;
        case config::LanesJournalReport::FAILURE:
          status = policy->OnFailure(report.lane(), report.reason(), now_s);
          break;
        case config::LanesJournalReport::TICK:
          progress.push_back({report.lane(), report.step(), report.loss()});
          break;
      }
      if (!status.ok()) {
        return absl::DataLossError(absl::StrCat("lanes journal round ", round.index(), ": replaying '",
                                                report.ShortDebugString(), "': ", status.message()));
      }
    }
    if (absl::Status status = policy->OnTick(now_s, progress); !status.ok()) {
      return absl::DataLossError(absl::StrCat("lanes journal round ", round.index(), ": ", status.message()));
    }
  }
  return absl::OkStatus();
}

double JournalUtilization(const config::LanesJournal& journal) {
  double held = 0;
  double total = 0;
  for (const config::LanesJournalRound& round : journal.rounds()) {
    int cards = 0;
    for (const config::LanesJournalRun& run : round.runs()) cards += run.cards_size();
    held += cards * round.seconds();
    total += static_cast<double>(journal.cards()) * round.seconds();
  }
  return total > 0 ? held / total : 0;
}

std::string FormatJournal(const config::LanesJournal& journal) {
  std::string text;
  for (const config::LanesJournalRound& round : journal.rounds()) {
    for (const config::LanesJournalDecision& d : round.decisions()) {
      absl::StrAppendFormat(&text, "round %d decision %s lane %d rung %d step %d cards [%s]%s\n", round.index(),
                            d.kind(), d.lane(), d.rung(), d.step(), absl::StrJoin(d.cards(), ","),
                            d.has_loss() ? absl::StrFormat(" loss %.6f", d.loss()) : "");
    }
    for (const config::LanesJournalRun& run : round.runs()) {
      absl::StrAppendFormat(&text, "round %d run lane %d cards [%s] steps %d->%d\n", round.index(), run.lane(),
                            absl::StrJoin(run.cards(), ","), run.from_step(), run.to_step());
    }
    for (const config::LanesJournalReport& report : round.reports()) {
      absl::StrAppendFormat(&text, "round %d report %s lane %d step %d loss %.6f%s\n", round.index(),
                            config::LanesJournalReport::Kind_Name(report.kind()), report.lane(), report.step(),
                            report.loss(), report.reason().empty() ? "" : " " + report.reason());
    }
  }
  absl::StrAppendFormat(&text, "utilization %.4f\n", JournalUtilization(journal));
  const int best = journal.best_lane();
  absl::StrAppendFormat(&text, "best_lane %d %s\n", best,
                        best >= 0 && best < journal.lane_names_size() ? journal.lane_names(best) : "-");
  absl::StrAppendFormat(&text, "complete %d\n", journal.complete() ? 1 : 0);
  return text;
}

LanesReportData ReportDataFromJournal(const config::LanesJournal& journal, const std::string& title,
                                      const std::vector<std::string>& statuses) {
  LanesReportData data;
  data.title = title;
  data.num_cards = static_cast<int>(journal.cards());
  for (int i = 0; i < journal.lane_names_size(); ++i) {
    LaneSeries series;
    series.name = journal.lane_names(i);
    series.status = i < static_cast<int>(statuses.size()) ? statuses[i] : "running";
    data.lanes.push_back(series);
  }
  double clock = 0;
  for (const config::LanesJournalRound& round : journal.rounds()) {
    for (const config::LanesJournalRun& run : round.runs()) {
      for (int card : run.cards()) data.intervals.push_back({card, run.lane(), clock, clock + round.seconds()});
    }
    for (const config::LanesJournalReport& report : round.reports()) {
      if (report.kind() == config::LanesJournalReport::FAILURE || report.step() < 1) continue;
      if (report.lane() < 0 || report.lane() >= static_cast<int>(data.lanes.size())) continue;
      data.lanes[report.lane()].points.push_back({report.step(), report.loss()});
    }
    clock += round.seconds();
  }
  data.total_seconds = clock;
  return data;
}

}  // namespace kachi::lanes
