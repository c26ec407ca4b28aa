// The lanes worker: the loop every rank (rank 0 included, beside its coordinator thread) runs during `kachi lanes`.
// It waits for the coordinator's next assignment (at most the idle deadline: an idle card gets heartbeats), runs a
// RUN assignment's chunk with its ChunkRunner, and, when it is the chunk's first card, tells the coordinator the
// chunk is alive now and then and what it ended with. IDLE drops any trainer the card kept; STOP ends the loop.
#ifndef KACHI_LAUNCHER_LANES_WORKER_H_
#define KACHI_LAUNCHER_LANES_WORKER_H_

#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "comm/control_channel.h"
#include "launcher/lanes/chunk_runner.h"

namespace kachi::lanes {

// The reason journaled for a failed chunk ("diverged: ..." for a non-finite loss).
std::string ChunkFailureReason(const ChunkOutcome& outcome);

// Runs assignments until STOP. OK after a STOP without reason; Aborted with the coordinator's reason after a STOP
// with one; DeadlineExceeded when no message came within `idle_deadline`; an error when a message is malformed or
// cannot be sent.
absl::Status RunWorker(ControlChannel& channel, ChunkRunner& runner, absl::Duration idle_deadline);

// Grace a worker that lost its coordinator gives the coordinator's rank to end the job itself.
inline constexpr absl::Duration kCoordinatorLossGrace = absl::Seconds(3);

// Ends the job (MPI_Abort, exit 86, "kachi: COORDINATOR LOST ..." naming this rank and the coordinator's by world
// rank and host) after kCoordinatorLossGrace: a worker that heard nothing from the coordinator for `deadline`
// (`why`) must not wait in MPI_Finalize, which would hang until the coordinator's rank resumes. Does not return
// (unless a test installed a returning watchdog terminator).
void EndJobWithoutCoordinator(const absl::Status& why, absl::Duration deadline);

}  // namespace kachi::lanes

#endif  // KACHI_LAUNCHER_LANES_WORKER_H_
