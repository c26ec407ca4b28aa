// The lane executor (see executor.h): RunLanes runs the steps of executor_steps.h in order.
#include "launcher/lanes/executor.h"

#include "kernels/base/status_macros.h"
#include "launcher/lanes/executor_steps.h"

namespace kachi::lanes {

absl::StatusOr<ExecutorSummary> RunLanes(const config::LanesFile& file, Communicator& world,
                                         const ExecutorOptions& options) {
  LanesRun run;  // the coordinator and the chunk runner point into it: it stays here until the run ends
  KACHI_RETURN_IF_ERROR(PrepareLanes(file, world, options, &run));
  KACHI_ASSIGN_OR_RETURN(const JournalStart start, OpenJournal(world, options, &run));
  if (start == JournalStart::kComplete) return SummarizeLanes(run);
  KACHI_RETURN_IF_ERROR(RunCoordinatorAndMembers(world, options, &run));
  return FinishLanes(options, run);
}

}  // namespace kachi::lanes
