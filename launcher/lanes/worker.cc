// The lanes worker loop (see worker.h).
#include "launcher/lanes/worker.h"

#include <mpi.h>
#include <unistd.h>

#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "comm/failure_codes.h"
#include "comm/side_channel.h"
#include "comm/watchdog.h"
#include "launcher/lanes/lane_messages.h"
#include "runtime/proto/lanes.pb.h"

namespace kachi::lanes {

std::string ChunkFailureReason(const ChunkOutcome& outcome) {
  if (outcome.failure == kNonFiniteLoss) {
    return absl::StrFormat("diverged: non-finite loss or gradients after step %d", outcome.step);
  }
  return absl::StrCat("an error on its cards at step ", outcome.step, " (see their stderr)");
}

absl::Status RunWorker(ControlChannel& channel, ChunkRunner& runner, absl::Duration idle_deadline) {
  while (true) {
    absl::StatusOr<ControlMessage> received = channel.Receive(kCoordinatorRank, kAssignmentTag, idle_deadline);
    if (!received.ok()) {
      return absl::Status(received.status().code(),
                          absl::StrCat("lanes worker: no word from the coordinator: ", received.status().message()));
    }
    config::LanesAssignment order;
    if (!order.ParseFromString(received->bytes)) {
      return absl::DataLossError(absl::StrCat("lanes worker on rank ", channel.rank(), ": an assignment of ",
                                              received->bytes.size(), " bytes that does not parse"));
    }
    if (order.kind() == config::LanesAssignment::STOP) {
      runner.Drop();
      if (!order.reason().empty()) return absl::AbortedError(absl::StrCat("the coordinator stopped: ", order.reason()));
      return absl::OkStatus();
    }
    if (order.kind() == config::LanesAssignment::IDLE) {
      runner.Drop();
      continue;
    }
    const bool first = order.cards_size() > 0 && order.cards(0) == channel.rank();
    absl::Status sent = absl::OkStatus();
    auto send = [&](const config::LanesWorkerMessage& message) {
      if (absl::Status status = channel.Send(kCoordinatorRank, kWorkerTag, message.SerializeAsString());
          !status.ok() && sent.ok()) {
        sent = status;
      }
    };
    auto alive = [&] {
      if (!first) return;
      config::LanesWorkerMessage message;
      message.set_kind(config::LanesWorkerMessage::ALIVE);
      message.set_chunk(order.chunk());
      send(message);
    };
    const ChunkOutcome outcome = runner.Run(order, alive);
    if (first) {
      config::LanesWorkerMessage message;
      message.set_kind(config::LanesWorkerMessage::DONE);
      message.set_chunk(order.chunk());
      message.set_work_s(outcome.work_s);
      message.set_restored(outcome.restored);
      message.set_train_s(outcome.train_s);
      if (outcome.kind != config::LanesJournalReport::FAILURE) message.set_checkpoint_s(outcome.checkpoint_s);
      config::LanesJournalReport* report = message.mutable_report();
      report->set_lane(order.lane());
      report->set_kind(outcome.kind);
      report->set_step(outcome.step);
      report->set_loss(outcome.loss);
      const bool failed = outcome.kind == config::LanesJournalReport::FAILURE;
      report->set_checkpoint_step(failed ? order.from_step() : outcome.step);
      if (failed) report->set_reason(ChunkFailureReason(outcome));
      send(message);
    }
    if (!sent.ok()) return sent;
  }
}

void EndJobWithoutCoordinator(const absl::Status& why, absl::Duration deadline) {
  std::this_thread::sleep_for(absl::ToChronoMilliseconds(kCoordinatorLossGrace));
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  std::vector<std::string> hosts = SideChannelHosts();
  char own[256] = {0};
  ::gethostname(own, sizeof(own) - 1);
  const std::string coordinator_host = hosts.empty() ? "?" : hosts[kCoordinatorRank];
  Watchdog::Get().Fail(
      kDeadlineExitCode,
      absl::StrFormat("kachi: COORDINATOR LOST: lanes worker world rank %d (host %s) heard nothing from the "
                      "coordinator (world rank %d, host %s) for %.1f s (comm.deadline_s); ending the job (exit %d): %s",
                      rank, own, kCoordinatorRank, coordinator_host, absl::ToDoubleSeconds(deadline),
                      kDeadlineExitCode, why.message()));
}

}  // namespace kachi::lanes
