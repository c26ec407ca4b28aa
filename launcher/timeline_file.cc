// Gathering the ranks' timelines into one Chrome-trace file (see timeline_file.h).
#include "launcher/timeline_file.h"

#include <cstdint>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "runtime/io/atomic_file.h"

ABSL_FLAG(std::string, timeline, "",
          "kachi train / kachi bench scaling: write every rank's step timeline (compute, each collective with its "
          "bytes, optimizer, data, checkpoint) to this Chrome-trace JSON file (open it in ui.perfetto.dev)");

namespace kachi {

absl::Status WriteTimelineFile(const StepTimeline& timeline, MPI_Comm comm, const std::string& path) {
  int rank = 0, size = 1;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  // The earliest event of any rank is time 0 (the ranks' wall clocks: one machine, or hosts kept in sync).
  const absl::Time first = timeline.first_event_time();
  int64_t first_us = first == absl::InfiniteFuture() ? INT64_MAX : absl::ToUnixMicros(first);
  int64_t origin_us = 0;
  MPI_Allreduce(&first_us, &origin_us, 1, MPI_INT64_T, MPI_MIN, comm);
  if (origin_us == INT64_MAX) origin_us = 0;
  const std::string events =
      timeline.ToChromeTraceEvents(rank, absl::StrCat("rank ", rank), absl::FromUnixMicros(origin_us));
  int length = static_cast<int>(events.size());
  std::vector<int> lengths(rank == 0 ? size : 0), offsets(rank == 0 ? size : 0);
  MPI_Gather(&length, 1, MPI_INT, lengths.data(), 1, MPI_INT, 0, comm);
  std::string all;
  if (rank == 0) {
    int64_t total = 0;
    for (int r = 0; r < size; ++r) {
      offsets[r] = static_cast<int>(total);
      total += lengths[r];
    }
    all.resize(total);
  }
  MPI_Gatherv(events.data(), length, MPI_CHAR, all.data(), lengths.data(), offsets.data(), MPI_CHAR, 0, comm);
  int ok = 1;
  std::string error;
  if (rank == 0) {
    std::vector<std::string> per_rank;
    for (int r = 0; r < size; ++r) per_rank.push_back(all.substr(offsets[r], lengths[r]));
    if (absl::Status written = WriteFileAtomically(path, ChromeTraceDocument(per_rank)); !written.ok()) {
      ok = 0;
      error = absl::StrCat("--timeline: ", written.message());
    }
  }
  MPI_Bcast(&ok, 1, MPI_INT, 0, comm);
  if (ok) return absl::OkStatus();
  return absl::UnavailableError(error.empty() ? absl::StrCat("--timeline: rank 0 could not write ", path) : error);
}

}  // namespace kachi
