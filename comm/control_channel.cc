// ControlChannel (see control_channel.h): nonblocking MPI point-to-point calls polled against a deadline.
#include "comm/control_channel.h"

#include <chrono>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "kernels/base/status_macros.h"

namespace kachi {
namespace {

// Sleep between polls: short enough for a quick hand-over, long enough not to steal a core from training ranks.
constexpr auto kPollSleep = std::chrono::microseconds(500);

std::string PeerName(int peer) { return peer == MPI_ANY_SOURCE ? std::string("any rank") : absl::StrCat("rank ", peer); }

}  // namespace

ControlChannel::ControlChannel(MPI_Comm comm, std::string name, absl::Duration deadline)
    : comm_(comm), name_(std::move(name)), deadline_(deadline) {
  MPI_Comm_rank(comm_, &rank_);
  MPI_Comm_size(comm_, &size_);
}

ControlChannel::~ControlChannel() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Comm_free(&comm_);
}

absl::StatusOr<std::unique_ptr<ControlChannel>> ControlChannel::Create(MPI_Comm parent, std::string name,
                                                                       absl::Duration deadline) {
  MPI_Comm comm = MPI_COMM_NULL;
  if (MPI_Comm_dup(parent, &comm) != MPI_SUCCESS) {
    return absl::InternalError(absl::StrCat("control channel '", name, "': MPI_Comm_dup failed"));
  }
  return std::unique_ptr<ControlChannel>(new ControlChannel(comm, std::move(name), deadline));
}

absl::Status ControlChannel::Send(int dest, int tag, const std::string& bytes) {
  if (dest < 0 || dest >= size_ || tag < 0) {
    return absl::InvalidArgumentError(absl::StrCat("control channel '", name_, "': send to rank ", dest, " of ",
                                                   size_, " with tag ", tag));
  }
  MPI_Request request = MPI_REQUEST_NULL;
  if (MPI_Isend(bytes.data(), static_cast<int>(bytes.size()), MPI_BYTE, dest, tag, comm_, &request) !=
      MPI_SUCCESS) {
    return absl::InternalError(absl::StrCat("control channel '", name_, "': MPI_Isend to rank ", dest, " failed"));
  }
  const absl::Time start = absl::Now();
  while (true) {
    int done = 0;
    MPI_Test(&request, &done, MPI_STATUS_IGNORE);
    if (done) return absl::OkStatus();
    if (absl::Now() - start > deadline_) {
      MPI_Cancel(&request);
      MPI_Request_free(&request);
      return absl::DeadlineExceededError(absl::StrFormat(
          "control channel '%s': rank %d could not deliver a message (tag %d, %d bytes) to rank %d within %s; "
          "is that rank alive?", name_, rank_, tag, bytes.size(), dest, absl::FormatDuration(deadline_)));
    }
    std::this_thread::sleep_for(kPollSleep);
  }
}

absl::StatusOr<std::optional<ControlMessage>> ControlChannel::Poll(int source, int tag, absl::Duration timeout) {
  const absl::Time start = absl::Now();
  while (true) {
    int flag = 0;
    MPI_Message handle = MPI_MESSAGE_NULL;
    MPI_Status status;
    // A matched probe: the message found is the one received, even when another thread receives on this channel.
    if (MPI_Improbe(source, tag, comm_, &flag, &handle, &status) != MPI_SUCCESS) {
      return absl::InternalError(absl::StrCat("control channel '", name_, "': MPI_Improbe failed"));
    }
    if (flag) {
      int count = 0;
      MPI_Get_count(&status, MPI_BYTE, &count);
      ControlMessage message;
      message.source = status.MPI_SOURCE;
      message.tag = status.MPI_TAG;
      message.bytes.resize(static_cast<size_t>(count));
      if (MPI_Mrecv(message.bytes.data(), count, MPI_BYTE, &handle, MPI_STATUS_IGNORE) != MPI_SUCCESS) {
        return absl::InternalError(absl::StrCat("control channel '", name_, "': MPI_Mrecv from rank ",
                                                status.MPI_SOURCE, " failed"));
      }
      return std::optional<ControlMessage>(std::move(message));
    }
    if (absl::Now() - start >= timeout) return std::optional<ControlMessage>();
    std::this_thread::sleep_for(kPollSleep);
  }
}

absl::StatusOr<ControlMessage> ControlChannel::Receive(int source, int tag, std::optional<absl::Duration> timeout) {
  const absl::Duration limit = timeout.value_or(deadline_);
  KACHI_ASSIGN_OR_RETURN(std::optional<ControlMessage> message, Poll(source, tag, limit));
  if (!message.has_value()) {
    return absl::DeadlineExceededError(absl::StrFormat(
        "control channel '%s': rank %d waited %s for a message (tag %d) from %s; is that rank alive?", name_, rank_,
        absl::FormatDuration(limit), tag, PeerName(source)));
  }
  return *std::move(message);
}

}  // namespace kachi
