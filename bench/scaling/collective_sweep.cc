// The all-reduce sweep for the alpha-beta fit (see collective_sweep.h).
#include "bench/scaling/collective_sweep.h"

#include <algorithm>
#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "bench/scaling/quiet_wait.h"
#include "comm/process_grid.h"

#ifdef KACHI_WITH_CUDA
#include <cuda_runtime.h>
#endif

namespace kachi {
namespace {

// The sweep's buffer: host memory, or device memory for a backend that wants it (NCCL with the CUDA kernels).
class SweepBuffer {
 public:
  SweepBuffer(size_t bytes, bool device) : host_(device ? 0 : bytes / sizeof(float), 1.0f) {
#ifdef KACHI_WITH_CUDA
    if (device && cudaMalloc(&device_, bytes) == cudaSuccess) cudaMemset(device_, 0, bytes);
#endif
  }
  ~SweepBuffer() {
#ifdef KACHI_WITH_CUDA
    if (device_ != nullptr) cudaFree(device_);
#endif
  }
  SweepBuffer(const SweepBuffer&) = delete;
  SweepBuffer& operator=(const SweepBuffer&) = delete;
  // Null when device memory was wanted and could not be had.
  void* data() { return device_ != nullptr ? device_ : host_.empty() ? nullptr : host_.data(); }

 private:
  std::vector<float> host_;
  void* device_ = nullptr;
};

}  // namespace

absl::StatusOr<std::vector<CollectiveSample>> SweepAllReduce(Communicator& parent, MPI_Comm job,
                                                             const std::vector<int>& members,
                                                             const SweepOptions& options) {
  if (options.min_bytes < 4 || options.max_bytes < options.min_bytes || options.iters < 1) {
    return absl::InvalidArgumentError(absl::StrCat("bench.scaling sweep: sizes ", options.min_bytes, "..",
                                                   options.max_bytes, " bytes, ", options.iters,
                                                   " iterations; expected 4 <= min <= max and >= 1 iteration"));
  }
  const bool member = std::find(members.begin(), members.end(), parent.rank()) != members.end();
  absl::StatusOr<std::unique_ptr<ProcessGrid>> grid = ProcessGrid::Carve(parent, member ? 0 : -1, 1, /*host=*/"");
  if (!grid.ok()) return grid.status();
  // The members over MPI, for agreeing on each call's time whatever the backend (NCCL takes no host scalars).
  MPI_Comm member_comm = MPI_COMM_NULL;
  int job_rank = 0;
  MPI_Comm_rank(job, &job_rank);
  MPI_Comm_split(job, member ? 0 : MPI_UNDEFINED, job_rank, &member_comm);
  std::vector<CollectiveSample> samples;
  absl::Status status;
  if (member) {
    Communicator& comm = (*grid)->world();
    SweepBuffer buffer(options.max_bytes, comm.wants_device_buffers());
    if (buffer.data() == nullptr) status = absl::ResourceExhaustedError("all-reduce sweep: no device buffer");
    for (uint64_t bytes = options.min_bytes; bytes <= options.max_bytes && status.ok(); bytes *= 4) {
      const size_t count = bytes / sizeof(float);
      std::vector<double> times;
      for (int i = 0; i < options.warmup + options.iters && status.ok(); ++i) {
        status = comm.Barrier();
        const absl::Time start = absl::Now();
        if (status.ok()) status = comm.AllReduce(buffer.data(), buffer.data(), count, DType::kFloat32, ReduceOp::kAvg);
        if (status.ok()) status = comm.Synchronize();  // asynchronous backends: the call only enqueued it
        int64_t nanos = absl::ToInt64Nanoseconds(absl::Now() - start);
        // The slowest member's time (a collective ends when its last rank is done), agreed over the job's MPI.
        MPI_Allreduce(MPI_IN_PLACE, &nanos, 1, MPI_INT64_T, MPI_MAX, member_comm);
        if (i >= options.warmup) times.push_back(nanos * 1e-9);
      }
      if (!status.ok()) break;
      std::sort(times.begin(), times.end());
      samples.push_back(CollectiveSample{comm.size(), static_cast<double>(count * sizeof(float)),
                                         times[times.size() / 2]});
    }
  }
  grid->reset();
  if (member_comm != MPI_COMM_NULL) MPI_Comm_free(&member_comm);
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
