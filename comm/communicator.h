// The Communicator interface: collectives over a group of ranks, the same for every backend (MPI on host
// buffers, NCCL on device buffers). Everything above comm/ (data/tensor parallelism, checkpoints, lanes) talks to
// this interface only.
//
// Every public collective is a non-virtual wrapper that gives the call a sequence number and registers it with the
// process Watchdog (comm/watchdog.h) under the communicator's deadline, then calls the backend's Do* method. A
// collective that does not complete before its deadline ends the job with a message naming the communicator, rank,
// operation, sequence number, bytes and wait (never a hang).
//
// In-place conventions (as in NCCL):
//   AllReduce:      send == recv.
//   ReduceScatter:  recv == send + rank * recv_count elements (send holds size() * recv_count elements).
//   AllGather:      send == recv + rank * send_count elements (recv holds size() * send_count elements).
// Asynchronous backends (NCCL) enqueue work on their stream and return; Synchronize() waits for it. Synchronous
// backends (MPI) return once the operation is complete.
#ifndef KACHI_COMM_COMMUNICATOR_H_
#define KACHI_COMM_COMMUNICATOR_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "comm/dtype.h"

namespace kachi {

class Watchdog;

// The collective operations, for messages, statistics and the watchdog.
enum class CollectiveKind : int { kAllReduce, kReduceScatter, kAllGather, kBroadcast, kBarrier, kSplit };

// Lowercase name ("all_reduce", "reduce_scatter", ...).
absl::string_view CollectiveName(CollectiveKind kind);

// Settings common to every backend.
struct CommOptions {
  // A collective that has not completed after this long ends the job (config: comm.deadline_s).
  absl::Duration deadline = absl::Seconds(300);
  // Human-readable name used in messages ("world", "dp", "tp", "lane3"...).
  std::string name = "world";
};

// A group of ranks that run collectives together. Not thread-safe: one thread issues a communicator's calls.
class Communicator {
 public:
  virtual ~Communicator();

  // This process's rank in the group, in [0, size()).
  virtual int rank() const = 0;
  // Number of ranks in the group.
  virtual int size() const = 0;
  // "mpi" or "nccl".
  virtual absl::string_view backend() const = 0;
  // True when buffers must live in device memory (NCCL); MPI accepts host or device buffers.
  virtual bool wants_device_buffers() const = 0;

  // Elementwise reduction of `count` elements across the group; every rank receives the result.
  absl::Status AllReduce(const void* send, void* recv, size_t count, DType dtype, ReduceOp op);
  // Reduces size() * recv_count elements; rank r receives elements [r * recv_count, (r + 1) * recv_count).
  absl::Status ReduceScatter(const void* send, void* recv, size_t recv_count, DType dtype, ReduceOp op);
  // Concatenates every rank's `send_count` elements, in rank order, into `recv` on every rank.
  absl::Status AllGather(const void* send, void* recv, size_t send_count, DType dtype);
  // Copies `count` elements of `root`'s buffer into every rank's buffer.
  absl::Status Broadcast(void* buffer, size_t count, DType dtype, int root);
  // Returns once every rank of the group has entered the barrier (and, for NCCL, prior work has completed).
  absl::Status Barrier();
  // Collective over this group: ranks with the same `color` (>= 0) form a new communicator, ordered by (key,
  // rank). A rank passing a negative color takes part but receives nullptr.
  absl::StatusOr<std::unique_ptr<Communicator>> Split(int color, int key);
  // Same as Split(color, key), naming the new communicator `name` instead of "<this name>/split<color>" (for
  // messages: ProcessGrid names its groups ".../dp" and ".../tp").
  absl::StatusOr<std::unique_ptr<Communicator>> Split(int color, int key, std::string name);
  // Waits for all work enqueued by this communicator (no-op for synchronous backends).
  virtual absl::Status Synchronize() { return absl::OkStatus(); }
  // True when collectives only enqueue work and return (NCCL); false when they are complete on return (MPI).
  virtual bool asynchronous() const { return false; }
  // Orders this communicator's later collectives after `cuda_event` (a cudaEvent_t passed as void*, recorded on a
  // compute stream, e.g. by the runtime's DeviceContext::RecordEvent). Asynchronous backends make their stream wait without blocking
  // the host (NCCL: cudaStreamWaitEvent); synchronous ones block until the event has completed. A null event is a
  // no-op; the event may be re-recorded or released once this returns. Default: Unimplemented for a non-null event.
  virtual absl::Status WaitEvent(void* cuda_event);

  // Number of collectives issued so far (the next one gets this sequence number).
  uint64_t sequence() const { return sequence_; }
  // The options this communicator was created with.
  const CommOptions& options() const { return options_; }

 protected:
  explicit Communicator(CommOptions options);

  // Backend implementations: arguments are already validated (non-null buffers when count > 0, root in range).
  virtual absl::Status DoAllReduce(const void* send, void* recv, size_t count, DType dtype, ReduceOp op) = 0;
  virtual absl::Status DoReduceScatter(const void* send, void* recv, size_t recv_count, DType dtype,
                                       ReduceOp op) = 0;
  virtual absl::Status DoAllGather(const void* send, void* recv, size_t send_count, DType dtype) = 0;
  virtual absl::Status DoBroadcast(void* buffer, size_t count, DType dtype, int root) = 0;
  virtual absl::Status DoBarrier() = 0;
  virtual absl::StatusOr<std::unique_ptr<Communicator>> DoSplit(int color, int key, CommOptions options) = 0;

  // Asynchronous backends override this to tie watchdog entry `token` (from Watchdog::Begin) to completion of the
  // work just enqueued, typically by recording a CUDA event and calling Watchdog::EndWhen(token, poll). Returning
  // false means the collective was complete on return and the caller ends the entry (the default).
  virtual bool TrackAsync(uint64_t token) { return false; }

  CommOptions options_;

 private:
  // Runs `body` as collective `kind` with a fresh sequence number under the watchdog.
  template <typename Body>
  absl::Status RunCollective(CollectiveKind kind, size_t bytes, Body&& body);

  uint64_t sequence_ = 0;
};

}  // namespace kachi

#endif  // KACHI_COMM_COMMUNICATOR_H_
