// "Which ranks did not arrive?" for the MPI backend. Every MPI communicator registers a duplicated control
// communicator and its progress (last collective entered / completed). The watchdog thread of every rank polls the
// control communicators each tick (MPI_Iprobe) and answers status requests; when a collective misses its deadline,
// the late rank's watchdog thread asks every peer of that communicator and, for about 2 s, collects the answers:
// peers that have not entered the late collective are listed with where they are, silent peers as "no answer".
// All waits are bounded. MPI use stops before MPI_Finalize (via FinalizeMpi or an MPI_COMM_SELF attribute).
#ifndef KACHI_COMM_MPI_PEER_STATUS_H_
#define KACHI_COMM_MPI_PEER_STATUS_H_

#include <mpi.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "comm/communicator.h"
#include "comm/watchdog.h"

namespace kachi {

// Progress of one communicator on this rank, updated by the backend and read by the watchdog thread.
struct PeerProgress {
  std::atomic<int64_t> entered{-1};    // sequence number of the last collective entered (-1: none yet)
  std::atomic<int> entered_kind{0};    // its CollectiveKind
  std::atomic<int64_t> completed{-1};  // sequence number of the last collective completed
  std::atomic<int64_t> stamp{0};       // process-wide order of the last entry (which communicator was used last)
};

// Marks collective `sequence` of `kind` entered on construction and completed on destruction.
class ProgressScope {
 public:
  ProgressScope(PeerProgress& progress, uint64_t sequence, CollectiveKind kind);
  ~ProgressScope();
  ProgressScope(const ProgressScope&) = delete;
  ProgressScope& operator=(const ProgressScope&) = delete;

 private:
  PeerProgress& progress_;
  int64_t sequence_;
};

// Registers `control` (a communicator reserved for status traffic) of communicator `name` (this rank `rank` of
// `size`) with the process's peer-status service; starts the service (watchdog poller and peer reporter) on first
// use. MPI must be initialized with MPI_THREAD_MULTIPLE.
void RegisterPeerStatus(MPI_Comm control, const std::string& name, int rank, int size,
                        std::shared_ptr<PeerProgress> progress);
// Removes `control` (call before freeing it). Waits for a status exchange in progress (at most a few seconds).
void UnregisterPeerStatus(MPI_Comm control);
// Stops every use of MPI by the service (called before MPI_Finalize; idempotent).
void ShutdownPeerStatus();

// The peer reporter installed in the watchdog: a list like "2 (at #4 all_reduce), 3 (no answer)" for `record`, or
// "" when `record` is not a registered MPI collective still in flight.
std::string ReportMissingPeers(const CollectiveRecord& record);

}  // namespace kachi

#endif  // KACHI_COMM_MPI_PEER_STATUS_H_
