// NCCL backend of Communicator (CUDA builds): device buffers only, one non-blocking CUDA stream per communicator, a
// non-blocking NCCL communicator (ncclInProgress is awaited with a deadline), completion of every collective
// tracked by a CUDA event that the watchdog polls, asynchronous NCCL errors polled by the watchdog, and
// ncclCommAbort run when the watchdog ends the job.
#include "comm/nccl_communicator.h"

#include <cuda_runtime.h>
#include <nccl.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "comm/comm_record.h"
#include "comm/cuda_event_pool.h"
#include "comm/flight_recorder.h"
#include "comm/nccl_raw.h"
#include "comm/nccl_status.h"
#include "comm/nccl_types.h"
#include "comm/watchdog.h"
#include "kernels/base/device_buffer.h"
#include "kernels/base/status_macros.h"

namespace kachi {
namespace {

// State shared between a communicator and the watchdog callbacks (poller, abort hook, completion checks), which
// run on the watchdog thread and may outlive the communicator.
struct SharedNcclState {
  explicit SharedNcclState(ncclComm_t nccl_comm, std::string description)
      : comm(nccl_comm), label(std::move(description)) {}

  absl::Mutex mu;
  ncclComm_t comm ABSL_GUARDED_BY(mu);          // null once destroyed or aborted
  const std::string label;                      // "comm 'world' rank 1 of 4 (nccl, device 0)"
  std::string event_error ABSL_GUARDED_BY(mu);  // first CUDA error seen while polling a completion event
};

// A non-blocking NCCL configuration named `name` (the string must outlive the NCCL call that reads it).
ncclConfig_t NonBlockingConfig(const std::string& name) {
  ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
  config.blocking = 0;
  config.commName = name.c_str();
  return config;
}

// Reports the local outcome of a set-up step to every rank of `bootstrap` and returns a non-OK status on every rank
// when any rank failed (the local error where this rank failed), so no rank is left waiting in a later collective.
absl::Status AgreeOnSetup(MPI_Comm bootstrap, const absl::Status& local, absl::string_view step) {
  int local_failed = local.ok() ? 0 : 1;
  int failed_ranks = 0;
  if (MPI_Allreduce(&local_failed, &failed_ranks, 1, MPI_INT, MPI_SUM, bootstrap) != MPI_SUCCESS) {
    return absl::InternalError(absl::StrCat("MPI_Allreduce on the bootstrap communicator failed during ", step));
  }
  KACHI_RETURN_IF_ERROR(local);
  if (failed_ranks > 0) {
    return absl::UnavailableError(absl::StrCat(failed_ranks, " other rank(s) failed during ", step,
                                               " (see their messages); NCCL communicator not created"));
  }
  return absl::OkStatus();
}

class NcclCommunicator final : public Communicator {
 public:
  // Wraps a ready NCCL communicator whose members are `world_ranks` (MPI_COMM_WORLD ranks, in NCCL rank order,
  // for the flight recorder); takes ownership of `comm` and `stream`.
  static absl::StatusOr<std::unique_ptr<Communicator>> Wrap(ncclComm_t comm, cudaStream_t stream, int device,
                                                            CommOptions options, std::vector<int> world_ranks) {
    int rank = 0;
    int size = 0;
    absl::Status status = NcclStatus(ncclCommUserRank(comm, &rank), "ncclCommUserRank", comm);
    if (status.ok()) status = NcclStatus(ncclCommCount(comm, &size), "ncclCommCount", comm);
    absl::StatusOr<base::DeviceBuffer> scratch = base::DeviceBuffer();
    if (status.ok()) {
      scratch =
          base::DeviceBuffer::Allocate(sizeof(int64_t), base::MemoryKind::kDevice, /*zero=*/true, "NCCL barrier word");
      status = scratch.status();
    }
    if (!status.ok()) {
      ncclCommAbort(comm);
      cudaStreamDestroy(stream);
      return status;
    }
    return std::unique_ptr<Communicator>(new NcclCommunicator(comm, stream, device, rank, size, std::move(*scratch),
                                                              std::move(options), std::move(world_ranks)));
  }

  ~NcclCommunicator() override;

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  absl::string_view backend() const override { return "nccl"; }
  bool wants_device_buffers() const override { return true; }
  absl::Status Synchronize() override { return WaitForStream(absl::InfiniteFuture(), "Synchronize"); }
  bool asynchronous() const override { return true; }
  // The communicator's stream waits for the event (no host block); later collectives run after it.
  absl::Status WaitEvent(void* cuda_event) override {
    if (cuda_event == nullptr) return absl::OkStatus();
    KACHI_RETURN_IF_ERROR(CudaStatus(cudaSetDevice(device_), "cudaSetDevice"));
    return CudaStatus(cudaStreamWaitEvent(stream_, static_cast<cudaEvent_t>(cuda_event), 0),
                      absl::StrCat("cudaStreamWaitEvent on ", Label()));
  }

  // The handles a raw NCCL call needs.
  NcclHandles handles() const { return NcclHandles{comm_, stream_, device_}; }

 protected:
  absl::Status DoAllReduce(const void* send, void* recv, size_t count, DType dtype, ReduceOp op) override {
    Entered(CollectiveKind::kAllReduce);
    pending_ = false;
    if (count == 0) return absl::OkStatus();
    const size_t bytes = count * DTypeSize(dtype);
    KACHI_ASSIGN_OR_RETURN(Staged b, Stage(CollectiveKind::kAllReduce, send, bytes, recv, bytes));
    absl::Status status = Enqueue(
        ncclAllReduce(b.send, b.recv, count, ToNcclDataType(dtype), RedOp(op), comm_, stream_), "ncclAllReduce");
    return status.ok() ? Unstage(b) : status;
  }

  absl::Status DoReduceScatter(const void* send, void* recv, size_t recv_count, DType dtype, ReduceOp op) override {
    Entered(CollectiveKind::kReduceScatter);
    pending_ = false;
    if (recv_count == 0) return absl::OkStatus();
    const size_t bytes = recv_count * DTypeSize(dtype);
    KACHI_ASSIGN_OR_RETURN(Staged b, Stage(CollectiveKind::kReduceScatter, send, bytes * size_, recv, bytes));
    absl::Status status =
        Enqueue(ncclReduceScatter(b.send, b.recv, recv_count, ToNcclDataType(dtype), RedOp(op), comm_, stream_),
                "ncclReduceScatter");
    return status.ok() ? Unstage(b) : status;
  }

  absl::Status DoAllGather(const void* send, void* recv, size_t send_count, DType dtype) override {
    Entered(CollectiveKind::kAllGather);
    pending_ = false;
    if (send_count == 0) return absl::OkStatus();
    const size_t bytes = send_count * DTypeSize(dtype);
    KACHI_ASSIGN_OR_RETURN(Staged b, Stage(CollectiveKind::kAllGather, send, bytes, recv, bytes * size_));
    absl::Status status =
        Enqueue(ncclAllGather(b.send, b.recv, send_count, ToNcclDataType(dtype), comm_, stream_), "ncclAllGather");
    return status.ok() ? Unstage(b) : status;
  }

  absl::Status DoBroadcast(void* buffer, size_t count, DType dtype, int root) override {
    Entered(CollectiveKind::kBroadcast);
    pending_ = false;
    if (count == 0) return absl::OkStatus();
    const size_t bytes = count * DTypeSize(dtype);
    KACHI_ASSIGN_OR_RETURN(Staged b, Stage(CollectiveKind::kBroadcast, buffer, bytes, buffer, bytes));
    absl::Status status =
        Enqueue(ncclBroadcast(b.send, b.recv, count, ToNcclDataType(dtype), root, comm_, stream_), "ncclBroadcast");
    return status.ok() ? Unstage(b) : status;
  }

  // A one-element all-reduce on a scratch word, then a wait for this communicator's stream: every rank has
  // arrived and all earlier work of this communicator is complete.
  absl::Status DoBarrier() override {
    Entered(CollectiveKind::kBarrier);
    pending_ = false;
    cudaSetDevice(device_);
    absl::Status status = Enqueue(
        ncclAllReduce(barrier_word_.data(), barrier_word_.data(), 1, ncclInt32, ncclSum, comm_, stream_), "barrier");
    pending_ = false;
    KACHI_RETURN_IF_ERROR(status);
    return WaitForStream(absl::InfiniteFuture(), "barrier");
  }

  absl::StatusOr<std::unique_ptr<Communicator>> DoSplit(int color, int key, CommOptions options) override;
  // The world ranks of the child that DoSplit(color, key) makes of this rank (every rank's color and key
  // gathered over this communicator); empty for a negative color.
  absl::StatusOr<std::vector<int>> ChildWorldRanks(int color, int key);

  bool TrackAsync(uint64_t token) override;

 private:
  NcclCommunicator(ncclComm_t comm, cudaStream_t stream, int device, int rank, int size,
                   base::DeviceBuffer barrier_word, CommOptions options, std::vector<int> world_ranks);

  // Flight record: collective sequence() - 1 of `kind` entered. A collective that never reached TrackAsync (it
  // failed) counts as completed once the next one is entered.
  void Entered(CollectiveKind kind) {
    if (open_) MarkCollectiveCompleted(*progress_, open_sequence_);
    open_sequence_ = static_cast<int64_t>(sequence()) - 1;
    open_ = true;
    MarkCollectiveEntered(*progress_, open_sequence_, kind);
  }

  // The NCCL reduction for `op` on this communicator. On a single rank, avg is the identity, which ncclSum
  // computes too; NCCL before 2.29.7 leaves the tail of a one-rank ncclAvg unwritten when the count is not a
  // multiple of its block count (NVIDIA/nccl#1950, seen here with 2.28 at 262157 fp32 elements), so sum is used.
  ncclRedOp_t RedOp(ReduceOp op) const { return (size_ == 1 && op == ReduceOp::kAvg) ? ncclSum : ToNcclRedOp(op); }
  // Host buffers of at most kMaxStagedHostBytes each (scalars such as a loss or a gradient norm, set-up exchanges)
  // are staged through device scratch: host inputs are copied in on the stream before the collective, host outputs
  // copied back and awaited after it (such a call is synchronous). Larger host buffers are an InvalidArgument error
  // (a silent slow path would hide a bug), as are buffers on another device.
  static constexpr size_t kMaxStagedHostBytes = size_t{1} << 20;
  // The pointers a collective runs on, and what Unstage must copy back.
  struct Staged {
    const void* send = nullptr;
    void* recv = nullptr;
    void* host_recv = nullptr;  // the caller's host output (null: none)
    size_t recv_bytes = 0;
  };
  absl::StatusOr<Staged> Stage(CollectiveKind kind, const void* send, size_t send_bytes, void* recv, size_t recv_bytes);
  absl::Status Unstage(const Staged& staged);
  // True for host memory (pageable or pinned), false for device memory on this communicator's device (managed
  // memory counts as device); InvalidArgument for another device's memory.
  absl::StatusOr<bool> IsHostBuffer(CollectiveKind kind, const void* pointer, absl::string_view role) const;
  // Finishes an enqueue: awaits ncclInProgress, converts errors, marks work pending for TrackAsync.
  absl::Status Enqueue(ncclResult_t result, absl::string_view what);
  // Waits until the stream is idle, failing early on an asynchronous NCCL error or when `deadline` passes.
  absl::Status WaitForStream(absl::Time deadline, absl::string_view what);
  // "comm 'world' rank 1 of 4 (nccl, device 0)".
  std::string Label() const;

  ncclComm_t comm_;
  cudaStream_t stream_;
  const int device_;
  const int rank_;
  const int size_;
  base::DeviceBuffer barrier_word_;  // device scratch for Barrier (an int32, zeroed)
  base::DeviceBuffer staging_;  // 2 x kMaxStagedHostBytes of device scratch for host buffers, allocated on first use
  bool pending_ = false;        // the last Do* call enqueued work that TrackAsync must tie to its watchdog entry
  std::shared_ptr<CudaEventPool> events_;
  std::shared_ptr<SharedNcclState> shared_;
  int poller_id_ = -1;
  int abort_hook_id_ = -1;
  const std::vector<int> world_ranks_;      // members as MPI_COMM_WORLD ranks (for the flight recorder)
  std::shared_ptr<PeerProgress> progress_;  // this communicator's line of the flight record
  bool open_ = false;                       // a collective entered whose completion is not yet arranged
  int64_t open_sequence_ = -1;              // its sequence number
};

NcclCommunicator::NcclCommunicator(ncclComm_t comm, cudaStream_t stream, int device, int rank, int size,
                                   base::DeviceBuffer barrier_word, CommOptions options, std::vector<int> world_ranks)
    : Communicator(std::move(options)),
      comm_(comm),
      stream_(stream),
      device_(device),
      rank_(rank),
      size_(size),
      barrier_word_(std::move(barrier_word)),
      events_(std::make_shared<CudaEventPool>(device)),
      shared_(std::make_shared<SharedNcclState>(comm, Label())),
      world_ranks_(std::move(world_ranks)),
      progress_(std::make_shared<PeerProgress>()) {
  RecordCommunicator(options_.name, world_ranks_, progress_);
  std::shared_ptr<SharedNcclState> shared = shared_;
  poller_id_ = Watchdog::Get().AddPoller([shared]() -> absl::Status {
    absl::MutexLock lock(&shared->mu);
    if (!shared->event_error.empty()) return absl::InternalError(shared->event_error);
    if (shared->comm == nullptr) return absl::OkStatus();
    ncclResult_t state = ncclSuccess;
    ncclResult_t query = ncclCommGetAsyncError(shared->comm, &state);
    if (query != ncclSuccess) state = query;
    if (state == ncclSuccess || state == ncclInProgress) return absl::OkStatus();
    return NcclStatus(state, absl::StrCat(shared->label, ": asynchronous NCCL operation"), shared->comm);
  });
  abort_hook_id_ = Watchdog::Get().AddAbortHook([shared]() {
    absl::MutexLock lock(&shared->mu);
    if (shared->comm == nullptr) return;
    std::fprintf(stderr, "kachi: aborting NCCL %s\n", shared->label.c_str());
    ncclCommAbort(shared->comm);
    shared->comm = nullptr;
  });
}

NcclCommunicator::~NcclCommunicator() {
  ForgetCommunicator(progress_.get());
  Watchdog::Get().RemovePoller(poller_id_);
  Watchdog::Get().RemoveAbortHook(abort_hook_id_);
  cudaSetDevice(device_);
  ncclComm_t comm = nullptr;
  {
    absl::MutexLock lock(&shared_->mu);
    comm = shared_->comm;
    shared_->comm = nullptr;
  }
  if (comm != nullptr) {
    // Let enqueued work finish and flush NCCL (both bounded by the deadline); abort instead of hanging.
    const absl::Time deadline = absl::Now() + options_.deadline;
    absl::Status status = WaitForStream(deadline, "destruction");
    if (status.ok()) {
      const ncclResult_t result = ncclCommFinalize(comm);
      status = result == ncclInProgress ? AwaitNcclComm(comm, deadline, "ncclCommFinalize")
                                        : NcclStatus(result, "ncclCommFinalize", comm);
    }
    if (status.ok()) {
      status = NcclStatus(ncclCommDestroy(comm), "ncclCommDestroy");
    } else {
      std::fprintf(stderr, "kachi: NCCL %s: %s; aborting the NCCL communicator\n", Label().c_str(),
                   std::string(status.message()).c_str());
      ncclCommAbort(comm);
    }
  }
  barrier_word_.Reset();
  staging_.Reset();
  cudaStreamDestroy(stream_);
}

std::string NcclCommunicator::Label() const {
  return absl::StrCat("comm '", options_.name, "' rank ", rank_, " of ", size_, " (nccl, device ", device_, ")");
}

absl::StatusOr<bool> NcclCommunicator::IsHostBuffer(CollectiveKind kind, const void* pointer,
                                                    absl::string_view role) const {
  cudaPointerAttributes attributes;
  std::memset(&attributes, 0, sizeof(attributes));
  KACHI_RETURN_IF_ERROR(CudaStatus(cudaPointerGetAttributes(&attributes, pointer),
                                   absl::StrCat(CollectiveName(kind), ": cudaPointerGetAttributes")));
  const bool on_device = attributes.type == cudaMemoryTypeDevice || attributes.type == cudaMemoryTypeManaged;
  if (!on_device) return true;
  if (attributes.device != device_) {
    return absl::InvalidArgumentError(absl::StrFormat("%s on %s: %s buffer %p is on device %d, expected device %d",
                                                      CollectiveName(kind), Label(), role, pointer, attributes.device,
                                                      device_));
  }
  return false;
}

absl::StatusOr<NcclCommunicator::Staged> NcclCommunicator::Stage(CollectiveKind kind, const void* send,
                                                                 size_t send_bytes, void* recv, size_t recv_bytes) {
  KACHI_ASSIGN_OR_RETURN(const bool send_host, IsHostBuffer(kind, send, "send"));
  bool recv_host = send_host;
  if (recv != send) {
    KACHI_ASSIGN_OR_RETURN(recv_host, IsHostBuffer(kind, recv, "receive"));
  }
  Staged staged{send, recv, nullptr, 0};
  if (!send_host && !recv_host) return staged;
  for (const auto& [host, bytes, role, pointer] :
       {std::tuple{send_host, send_bytes, "send", static_cast<const void*>(send)},
        std::tuple{recv_host, recv_bytes, "receive", static_cast<const void*>(recv)}}) {
    if (host && bytes > kMaxStagedHostBytes) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s on %s: %s buffer %p is host memory of %d bytes; the NCCL backend stages host buffers of at most %d "
          "bytes (scalars, set-up exchanges) and needs device memory on device %d (e.g. from cudaMalloc) beyond",
          CollectiveName(kind), Label(), role, pointer, bytes, kMaxStagedHostBytes, device_));
    }
  }
  absl::Status status = CudaStatus(cudaSetDevice(device_), "cudaSetDevice");
  if (status.ok() && staging_.empty()) {
    status =
        staging_.Reallocate(2 * kMaxStagedHostBytes, base::MemoryKind::kDevice, false, "NCCL host-buffer staging area");
  }
  KACHI_RETURN_IF_ERROR(status);
  char* device_send = staging_.as<char>();
  char* device_recv = device_send + kMaxStagedHostBytes;
  // Host inputs go in on the collective's stream (stream order makes them visible to it, pageable or not).
  if (send == recv) {
    status = CudaStatus(cudaMemcpyAsync(device_recv, send, send_bytes, cudaMemcpyHostToDevice, stream_),
                        "staging a host buffer");
    staged.send = staged.recv = device_recv;
  } else {
    if (send_host) {
      status = CudaStatus(cudaMemcpyAsync(device_send, send, send_bytes, cudaMemcpyHostToDevice, stream_),
                          "staging a host send buffer");
      staged.send = device_send;
    }
    if (recv_host) staged.recv = device_recv;
  }
  KACHI_RETURN_IF_ERROR(status);
  if (recv_host) {
    staged.host_recv = recv;
    staged.recv_bytes = recv_bytes;
  }
  return staged;
}

absl::Status NcclCommunicator::Unstage(const Staged& staged) {
  if (staged.host_recv == nullptr) return absl::OkStatus();
  KACHI_RETURN_IF_ERROR(
      CudaStatus(cudaMemcpyAsync(staged.host_recv, staged.recv, staged.recv_bytes, cudaMemcpyDeviceToHost, stream_),
                 "copying a staged result to host memory"));
  return WaitForStream(absl::Now() + options_.deadline, "a staged host buffer");
}

absl::Status NcclCommunicator::Enqueue(ncclResult_t result, absl::string_view what) {
  absl::Status status = result == ncclInProgress
                            ? AwaitNcclComm(comm_, absl::Now() + options_.deadline, absl::StrCat(what, " on ", Label()))
                            : NcclStatus(result, absl::StrCat(what, " on ", Label()), comm_);
  pending_ = status.ok();
  return status;
}

absl::Status NcclCommunicator::WaitForStream(absl::Time deadline, absl::string_view what) {
  cudaSetDevice(device_);
  while (true) {
    const cudaError_t query = cudaStreamQuery(stream_);
    if (query == cudaSuccess) break;
    if (query != cudaErrorNotReady) {
      return CudaStatus(query, absl::StrCat(what, " on ", Label(), ": cudaStreamQuery"));
    }
    ncclResult_t state = ncclSuccess;
    ncclCommGetAsyncError(comm_, &state);
    if (state != ncclSuccess && state != ncclInProgress) {
      return NcclStatus(state, absl::StrCat(what, " on ", Label(), ": asynchronous NCCL error"), comm_);
    }
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat(what, " on ", Label(), ": the stream still had work at the deadline"));
    }
    std::this_thread::yield();
  }
  ncclResult_t state = ncclSuccess;
  ncclCommGetAsyncError(comm_, &state);
  if (state != ncclSuccess && state != ncclInProgress) {
    return NcclStatus(state, absl::StrCat(what, " on ", Label(), ": asynchronous NCCL error"), comm_);
  }
  return absl::OkStatus();
}

bool NcclCommunicator::TrackAsync(uint64_t token) {
  const int64_t sequence = open_sequence_;
  open_ = false;
  if (!pending_) {  // nothing left on the stream for it: complete now
    MarkCollectiveCompleted(*progress_, sequence);
    return false;
  }
  pending_ = false;
  absl::StatusOr<cudaEvent_t> event = events_->Acquire();
  absl::Status status = event.status();
  if (status.ok()) status = CudaStatus(cudaEventRecord(*event, stream_), "cudaEventRecord");
  if (!status.ok()) {
    // Without an event the entry cannot be tied to the GPU work: let the poller end the job with the reason.
    if (event.ok()) events_->Release(*event);
    MarkCollectiveCompleted(*progress_, sequence);
    absl::MutexLock lock(&shared_->mu);
    if (shared_->event_error.empty()) shared_->event_error = absl::StrCat(Label(), ": ", status.message());
    return false;
  }
  Watchdog::Get().EndWhen(token, [events = events_, shared = shared_, progress = progress_, sequence, done = *event]() {
    const cudaError_t query = cudaEventQuery(done);
    if (query == cudaErrorNotReady) return false;
    MarkCollectiveCompleted(*progress, sequence);  // done on the GPU (or failed: no longer waited for)
    if (query != cudaSuccess) {
      absl::MutexLock lock(&shared->mu);
      if (shared->event_error.empty()) {
        shared->event_error =
            absl::StrCat(shared->label, ": collective completion event failed: ", cudaGetErrorName(query), " (",
                         cudaGetErrorString(query), ")");
      }
    }
    events->Release(done);
    return true;
  });
  return true;
}

absl::StatusOr<std::vector<int>> NcclCommunicator::ChildWorldRanks(int color, int key) {
  const int mine[2] = {color < 0 ? -1 : color, key};
  std::vector<int> all(2 * static_cast<size_t>(size_), 0);
  KACHI_ASSIGN_OR_RETURN(Staged b,
                         Stage(CollectiveKind::kSplit, mine, sizeof(mine), all.data(), all.size() * sizeof(int)));
  absl::Status status =
      Enqueue(ncclAllGather(b.send, b.recv, 2, ncclInt32, comm_, stream_), "ncclAllGather of split colors and keys");
  pending_ = false;
  if (status.ok()) status = Unstage(b);
  KACHI_RETURN_IF_ERROR(status);
  std::vector<int> colors(size_), keys(size_);
  for (int r = 0; r < size_; ++r) {
    colors[r] = all[2 * r];
    keys[r] = all[2 * r + 1];
  }
  return SplitWorldRanks(world_ranks_, colors, keys, rank_);
}

absl::StatusOr<std::unique_ptr<Communicator>> NcclCommunicator::DoSplit(int color, int key, CommOptions options) {
  Entered(CollectiveKind::kSplit);
  pending_ = false;
  KACHI_ASSIGN_OR_RETURN(std::vector<int> child_world, ChildWorldRanks(color, key));
  cudaSetDevice(device_);
  ncclConfig_t config = NonBlockingConfig(options.name);
  ncclComm_t child = nullptr;
  const ncclResult_t result = ncclCommSplit(comm_, color < 0 ? NCCL_SPLIT_NOCOLOR : color, key, &child, &config);
  const std::string what = absl::StrCat("ncclCommSplit(color ", color, ", key ", key, ") on ", Label());
  if (result != ncclSuccess && result != ncclInProgress) return NcclStatus(result, what, comm_);
  const absl::Time deadline = absl::Now() + options_.deadline;
  absl::Status status = AwaitNcclComm(comm_, deadline, what);
  if (status.ok() && child != nullptr) status = AwaitNcclComm(child, deadline, what);
  if (!status.ok()) {
    if (child != nullptr) ncclCommAbort(child);
    return status;
  }
  if (child == nullptr) return std::unique_ptr<Communicator>();
  cudaStream_t stream = nullptr;
  status = CudaStatus(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), "cudaStreamCreateWithFlags");
  if (!status.ok()) {
    ncclCommAbort(child);
    return status;
  }
  return Wrap(child, stream, device_, std::move(options), std::move(child_world));
}

}  // namespace

bool NcclAvailable() { return true; }

absl::StatusOr<std::unique_ptr<Communicator>> CreateNcclCommunicator(MPI_Comm bootstrap, int device,
                                                                     CommOptions options) {
  int mpi_initialized = 0;
  MPI_Initialized(&mpi_initialized);
  if (!mpi_initialized) {
    return absl::FailedPreconditionError("CreateNcclCommunicator needs MPI to be initialized (call InitMpi first)");
  }
  if (bootstrap == MPI_COMM_NULL) {
    return absl::InvalidArgumentError("CreateNcclCommunicator: the bootstrap MPI communicator is MPI_COMM_NULL");
  }
  int rank = 0;
  int size = 0;
  MPI_Comm_rank(bootstrap, &rank);
  MPI_Comm_size(bootstrap, &size);

  // Step 1: a usable device on every rank.
  int device_count = 0;
  absl::Status local = CudaStatus(cudaGetDeviceCount(&device_count), "cudaGetDeviceCount");
  if (local.ok() && device_count == 0) local = absl::UnavailableError("no CUDA device is visible");
  if (local.ok() && (device < 0 || device >= device_count)) {
    local = absl::InvalidArgumentError(absl::StrCat("CUDA device ", device, " requested but ", device_count,
                                                    " device(s) are visible (expected 0..", device_count - 1, ")"));
  }
  if (local.ok()) local = CudaStatus(cudaSetDevice(device), absl::StrCat("cudaSetDevice(", device, ")"));
  cudaStream_t stream = nullptr;
  if (local.ok()) {
    local = CudaStatus(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), "cudaStreamCreateWithFlags");
  }
  if (!local.ok()) {
    local = absl::Status(local.code(), absl::StrCat("NCCL communicator '", options.name, "' rank ", rank, " of ", size,
                                                    ": ", local.message()));
  }
  absl::Status agreed = AgreeOnSetup(bootstrap, local, "CUDA device setup");
  if (!agreed.ok()) {
    if (stream != nullptr) cudaStreamDestroy(stream);
    return agreed;
  }

  // Step 2: rank 0's unique id (with its success flag) to every rank.
  struct {
    int ok;
    ncclUniqueId id;
  } unique{};
  if (rank == 0) {
    local = NcclStatus(ncclGetUniqueId(&unique.id), "ncclGetUniqueId");
    unique.ok = local.ok() ? 1 : 0;
  }
  if (MPI_Bcast(&unique, sizeof(unique), MPI_BYTE, 0, bootstrap) != MPI_SUCCESS || !unique.ok) {
    cudaStreamDestroy(stream);
    if (rank == 0 && !local.ok()) return local;
    return absl::UnavailableError(
        absl::StrCat("NCCL communicator '", options.name, "': rank 0 could not create or send the NCCL unique id"));
  }

  // Step 3: the non-blocking NCCL communicator, awaited under the deadline.
  ncclConfig_t config = NonBlockingConfig(options.name);
  ncclComm_t comm = nullptr;
  const std::string what = absl::StrCat("ncclCommInitRankConfig for '", options.name, "' (rank ", rank, " of ", size,
                                        ", device ", device, ")");
  const ncclResult_t result = ncclCommInitRankConfig(&comm, size, unique.id, rank, &config);
  absl::Status status = (result == ncclSuccess || result == ncclInProgress)
                            ? AwaitNcclComm(comm, absl::Now() + options.deadline, what)
                            : NcclStatus(result, what, comm);
  if (!status.ok()) {
    if (comm != nullptr) ncclCommAbort(comm);
    cudaStreamDestroy(stream);
    return status;
  }
  return NcclCommunicator::Wrap(comm, stream, device, std::move(options), MpiWorldRanks(bootstrap));
}

absl::StatusOr<NcclHandles> NcclHandlesOf(const Communicator& communicator) {
  const auto* nccl = dynamic_cast<const NcclCommunicator*>(&communicator);
  if (nccl == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("NcclHandlesOf: communicator '", communicator.options().name,
                                                   "' uses backend '", communicator.backend(), "', expected 'nccl'"));
  }
  return nccl->handles();
}

}  // namespace kachi
