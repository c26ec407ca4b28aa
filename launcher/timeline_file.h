// `--timeline FILE` of `kachi train` and `kachi bench scaling`: every rank's StepTimeline gathered to rank 0 and
// written as one Chrome-trace / Perfetto JSON file (one process per rank, pid = world rank).
#ifndef KACHI_LAUNCHER_TIMELINE_FILE_H_
#define KACHI_LAUNCHER_TIMELINE_FILE_H_

#include <mpi.h>

#include <string>

#include "absl/flags/declare.h"
#include "absl/status/status.h"
#include "runtime/train/timeline.h"

// --timeline FILE: write the per-rank step timeline there (empty: none).
ABSL_DECLARE_FLAG(std::string, timeline);

namespace kachi {

// Collective over `comm` (every rank calls it): gathers each rank's events (times after the earliest event of any
// rank) to rank 0, which writes `path` atomically (runtime/io/atomic_file.h). Errors agree across ranks.
absl::Status WriteTimelineFile(const StepTimeline& timeline, MPI_Comm comm, const std::string& path);

}  // namespace kachi

#endif  // KACHI_LAUNCHER_TIMELINE_FILE_H_
