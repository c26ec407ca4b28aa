// ControlChannel: point-to-point messages (opaque bytes with a tag) between the ranks of a job, on a private
// duplicate of an MPI communicator, with a deadline on every send and receive so that a dead or stuck peer ends
// the wait with an error naming the peer, the tag and the time waited instead of a hang. Waits poll (MPI_Test /
// MPI_Iprobe with short sleeps) so an idle rank does not spin a core away from ranks that train. Thread-safe under
// MPI_THREAD_MULTIPLE (kachi's InitMpi): different threads may send and receive at once as long as each receive
// is told apart by (source, tag), e.g. the lanes coordinator and rank 0's worker.
#ifndef KACHI_COMM_CONTROL_CHANNEL_H_
#define KACHI_COMM_CONTROL_CHANNEL_H_

#include <mpi.h>

#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace kachi {

// One message received.
struct ControlMessage {
  // The sender's rank in the channel's communicator.
  int source = 0;
  // The tag it was sent with.
  int tag = 0;
  // Its bytes.
  std::string bytes;
};

class ControlChannel {
 public:
  // Collective over `parent` (its ranks in parent order): a channel on a duplicate of it named `name` (for
  // messages). Waits give up after `deadline` unless told otherwise.
  static absl::StatusOr<std::unique_ptr<ControlChannel>> Create(MPI_Comm parent, std::string name,
                                                                absl::Duration deadline);
  ~ControlChannel();

  ControlChannel(const ControlChannel&) = delete;
  ControlChannel& operator=(const ControlChannel&) = delete;

  // This rank and the number of ranks.
  int rank() const { return rank_; }
  int size() const { return size_; }
  // The default deadline of waits.
  absl::Duration deadline() const { return deadline_; }

  // Sends `bytes` to `dest` with `tag` (>= 0) and waits until the send buffer is free (at most the deadline:
  // DeadlineExceeded names the peer and tag).
  absl::Status Send(int dest, int tag, const std::string& bytes);
  // Receives the next message with `tag` from `source` (or from anyone with kAnySource), waiting at most
  // `timeout` (the channel's deadline when absent). DeadlineExceeded names the source, tag and time waited.
  absl::StatusOr<ControlMessage> Receive(int source, int tag, std::optional<absl::Duration> timeout = std::nullopt);
  // Like Receive, but returns nullopt (not an error) when nothing arrived within `timeout`: for loops that do
  // other work between polls.
  absl::StatusOr<std::optional<ControlMessage>> Poll(int source, int tag, absl::Duration timeout);

  // Receive from any rank.
  static constexpr int kAnySource = MPI_ANY_SOURCE;

 private:
  ControlChannel(MPI_Comm comm, std::string name, absl::Duration deadline);

  MPI_Comm comm_;
  std::string name_;
  absl::Duration deadline_;
  int rank_ = 0;
  int size_ = 1;
};

}  // namespace kachi

#endif  // KACHI_COMM_CONTROL_CHANNEL_H_
