// The all-reduce sweep for the alpha-beta fit (see collective_sweep.h).
#include "bench/scaling/collective_sweep.h"

#include <algorithm>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "bench/scaling/quiet_wait.h"
#include "comm/process_grid.h"

namespace kachi {

absl::StatusOr<std::vector<CollectiveSample>> SweepAllReduce(Communicator& parent, MPI_Comm job,
                                                             const std::vector<int>& members,
                                                             const SweepOptions& options) {
  if (options.min_bytes < 4 || options.max_bytes < options.min_bytes || options.iters < 1) {
    return absl::InvalidArgumentError(absl::StrCat("bench.scaling sweep: sizes ", options.min_bytes, "..",
                                                   options.max_bytes, " bytes, ", options.iters,
                                                   " iterations; expected 4 <= min <= max and >= 1 iteration"));
  }
  const bool member = std::find(members.begin(), members.end(), parent.rank()) != members.end();
  absl::StatusOr<std::unique_ptr<ProcessGrid>> grid = ProcessGrid::Carve(parent, member ? 0 : -1, 1, 1);
  if (!grid.ok()) return grid.status();
  std::vector<CollectiveSample> samples;
  absl::Status status;
  if (member) {
    Communicator& comm = (*grid)->world();
    std::vector<float> buffer(options.max_bytes / sizeof(float), 1.0f);
    for (uint64_t bytes = options.min_bytes; bytes <= options.max_bytes && status.ok(); bytes *= 4) {
      const size_t count = bytes / sizeof(float);
      std::vector<double> times;
      for (int i = 0; i < options.warmup + options.iters && status.ok(); ++i) {
        status = comm.Barrier();
        const absl::Time start = absl::Now();
        if (status.ok()) status = comm.AllReduce(buffer.data(), buffer.data(), count, DType::kFloat32, ReduceOp::kAvg);
        int64_t nanos = absl::ToInt64Nanoseconds(absl::Now() - start);
        // The slowest member's time (a collective ends when its last rank is done).
        if (status.ok()) status = comm.AllReduce(&nanos, &nanos, 1, DType::kInt64, ReduceOp::kMax);
        if (i >= options.warmup) times.push_back(nanos * 1e-9);
      }
      if (!status.ok()) break;
      std::sort(times.begin(), times.end());
      samples.push_back(CollectiveSample{comm.size(), static_cast<double>(count * sizeof(float)),
                                         times[times.size() / 2]});
    }
  }
  grid->reset();
  QuietBarrier(job);  // idle ranks sleep here while the members run
  int ok = status.ok() ? 1 : 0;
  MPI_Allreduce(MPI_IN_PLACE, &ok, 1, MPI_INT, MPI_MIN, job);
  if (!ok) {
    return status.ok() ? absl::AbortedError("all-reduce sweep: another rank failed") : status;
  }
  if (parent.rank() != 0) samples.clear();
  return samples;
}

}  // namespace kachi
