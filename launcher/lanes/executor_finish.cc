// Step 4 of the lane executor (executor_steps.h): the lanes report beside the journal and the run's summary.
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "launcher/lanes/executor_steps.h"
#include "launcher/lanes/journal.h"
#include "launcher/lanes/report.h"

namespace kachi::lanes {

ExecutorSummary SummarizeLanes(const LanesRun& run) {
  ExecutorSummary summary;
  summary.best_lane = run.journal.best_lane();
  summary.best_loss = std::nan("");
  if (summary.best_lane >= 0) {
    summary.best_lane_name = run.lanes[summary.best_lane].definition.name;
    summary.best_loss = run.policy->status(summary.best_lane).final_loss;
  }
  summary.utilization = JournalUtilization(run.journal);
  summary.events = run.journal.events_size();
  summary.seconds = JournalSeconds(run.journal);
  return summary;
}

ExecutorSummary FinishLanes(const ExecutorOptions& options, const LanesRun& run) {
  if (!run.leader) return ExecutorSummary();
  std::vector<std::string> statuses;
  for (int i = 0; i < run.policy->lane_count(); ++i) statuses.push_back(LaneStateName(run.policy->status(i).state));
  const std::string report_path = (std::filesystem::path(options.dir) / "lanes_report.html").string();
  absl::Status written =
      WriteLanesReport(ReportDataFromJournal(run.journal, "kachi lanes: " + options.dir, statuses), report_path);
  if (run.log) {
    *run.log << "kachi lanes: report " << (written.ok() ? report_path : std::string(written.message())) << "\n";
  }
  return SummarizeLanes(run);
}

}  // namespace kachi::lanes
