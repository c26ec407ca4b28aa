// The lanes journal: atomic I/O, decision entries, replay into a policy, utilization.
#include "launcher/lanes/journal.h"

#include <cmath>
#include <vector>

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

absl::Status FeedEventReports(const config::LanesJournalEvent& event, LanePolicy* policy) {
  std::vector<LaneProgress> progress;
  for (const config::LanesJournalReport& report : event.reports()) {
    absl::Status status;
    switch (report.kind()) {
      case config::LanesJournalReport::TARGET:
        status = policy->OnRungReached(report.lane(), report.step(), report.loss(), event.time_s());
        break;
      case config::LanesJournalReport::FAILURE:
        status = policy->OnFailure(report.lane(), report.reason(), event.time_s());
        break;
      case config::LanesJournalReport::TICK:
        // A chunk's end: its checkpoint is at the reported step (the lane may be cut there, predict_cut).
        progress.push_back({report.lane(), report.step(), report.loss(), report.checkpoint_step() == report.step()});
        break;
    }
    if (!status.ok()) {
      return absl::Status(status.code(), absl::StrCat("event ", event.index(), ": '", report.ShortDebugString(),
                                                      "': ", status.message()));
    }
  }
  if (absl::Status status = policy->OnTick(event.time_s(), progress); !status.ok()) {
    return absl::Status(status.code(), absl::StrCat("event ", event.index(), ": ", status.message()));
  }
  return absl::OkStatus();
}

absl::Status ReplayJournal(const config::LanesJournal& journal, LanePolicy* policy) {
  for (const config::LanesJournalEvent& event : journal.events()) {
    if (absl::Status status = FeedEventReports(event, policy); !status.ok()) {
      return absl::DataLossError(absl::StrCat("lanes journal: replaying ", status.message()));
    }
    std::vector<Decision> decisions = policy->Decide();
    if (static_cast<int>(decisions.size()) != event.decisions_size()) {
      return absl::DataLossError(absl::StrCat("lanes journal event ", event.index(), ": the policy decides ",
                                              decisions.size(), " things on replay, the journal holds ",
                                              event.decisions_size()));
    }
    for (size_t i = 0; i < decisions.size(); ++i) {
      if (!SameDecision(DecisionToJournal(decisions[i]), event.decisions(static_cast<int>(i)))) {
        return absl::DataLossError(absl::StrCat("lanes journal event ", event.index(), ": decision ", i,
                                                " on replay is '", DecisionToJournal(decisions[i]).ShortDebugString(),
                                                "', the journal holds '",
                                                event.decisions(static_cast<int>(i)).ShortDebugString(), "'"));
      }
    }
  }
  return absl::OkStatus();
}

double JournalSeconds(const config::LanesJournal& journal) {
  return journal.events_size() == 0 ? 0 : journal.events(journal.events_size() - 1).time_s();
}

double JournalUtilization(const config::LanesJournal& journal) {
  double held = 0;
  for (const config::LanesJournalEvent& event : journal.events()) {
    for (const config::LanesJournalRun& run : event.runs()) held += run.cards_size() * (run.end_s() - run.begin_s());
  }
  // Pool card-seconds: journal.cards() until the first repool's event, then each repool's cards (journal_repool.h).
  double total = 0;
  double cards = journal.cards();
  double since = 0;
  for (const config::LanesJournalRepool& repool : journal.repools()) {
    const int first = static_cast<int>(repool.first_event());
    const double at = first > 0 && first <= journal.events_size() ? journal.events(first - 1).time_s() : since;
    total += cards * (at - since);
    cards = repool.cards();
    since = at;
  }
  total += cards * (JournalSeconds(journal) - since);
  return total > 0 ? held / total : 0;
}

std::string FormatJournal(const config::LanesJournal& journal) {
  std::string text;
  for (const config::LanesJournalEvent& event : journal.events()) {
    const int e = static_cast<int>(event.index());
    absl::StrAppendFormat(&text, "event %d at %.3f session %d\n", e, event.time_s(), event.session());
    for (const config::LanesJournalReport& report : event.reports()) {
      absl::StrAppendFormat(&text, "event %d report %s lane %d step %d loss %.6f checkpoint %d%s\n", e,
                            config::LanesJournalReport::Kind_Name(report.kind()), report.lane(), report.step(),
                            report.loss(), report.checkpoint_step(),
                            report.reason().empty() ? "" : " " + report.reason());
    }
    for (const config::LanesJournalRun& run : event.runs()) {
      absl::StrAppendFormat(&text, "event %d run lane %d cards [%s] steps %d->%d time %.3f->%.3f work %.3f "
                            "restored %d\n", e, run.lane(), absl::StrJoin(run.cards(), ","), run.from_step(),
                            run.to_step(), run.begin_s(), run.end_s(), run.work_s(), run.restored() ? 1 : 0);
      if (run.has_checkpoint_s()) {  // the chunk's measured step and checkpoint seconds (checkpoint budget)
        absl::StrAppendFormat(&text, "event %d timing lane %d cards %d steps %d->%d train %.6f checkpoint %.6f\n", e,
                              run.lane(), run.cards_size(), run.from_step(), run.to_step(), run.train_s(),
                              run.checkpoint_s());
      }
    }
    for (const config::LanesJournalDecision& d : event.decisions()) {
      absl::StrAppendFormat(&text, "event %d decision %s lane %d rung %d step %d cards [%s]%s%s\n", e, d.kind(),
                            d.lane(), d.rung(), d.step(), absl::StrJoin(d.cards(), ","),
                            d.has_loss() ? absl::StrFormat(" loss %.6f", d.loss()) : "",
                            d.reason().empty() ? "" : " reason " + d.reason());
    }
  }
  for (const config::LanesJournalRepool& repool : journal.repools()) {  // journal_repool.h
    absl::StrAppendFormat(&text, "repool at event %d cards %d cards_per_node %d\n", repool.first_event(),
                          repool.cards(), repool.cards_per_node());
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
  for (const config::LanesJournalEvent& event : journal.events()) {
    for (const config::LanesJournalRun& run : event.runs()) {
      for (int card : run.cards()) data.intervals.push_back({card, run.lane(), run.begin_s(), run.end_s()});
    }
    for (const config::LanesJournalReport& report : event.reports()) {
      if (report.kind() == config::LanesJournalReport::FAILURE || report.step() < 1) continue;
      if (report.lane() < 0 || report.lane() >= static_cast<int>(data.lanes.size())) continue;
      data.lanes[report.lane()].points.push_back({report.step(), report.loss()});
    }
  }
  data.total_seconds = JournalSeconds(journal);
  return data;
}

}  // namespace kachi::lanes
