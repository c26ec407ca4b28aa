// The MPI peer-status service (see mpi_peer_status.h): answers status requests on control communicators from the
// watchdog thread and asks peers, with bounded waits, when a collective is late.
#include "comm/mpi_peer_status.h"

#include <chrono>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "comm/comm_record.h"
#include "comm/failure_watch.h"
#include "comm/side_channel.h"

namespace kachi {
namespace {

constexpr int kRequestTag = 1;  // payload: int64 {sequence, kind} of the asker's late collective
constexpr int kReplyTag = 2;    // payload: int64 {entered, entered_kind, completed} of the answering rank
// How long a late rank collects answers before reporting silent peers as "no answer".
constexpr auto kAnswerWindow = std::chrono::seconds(2);
constexpr auto kAnswerPoll = std::chrono::milliseconds(5);

// One registered communicator.
struct Channel {
  MPI_Comm control = MPI_COMM_NULL;
  std::string name;
  int rank = 0;
  int size = 0;
  std::shared_ptr<PeerProgress> progress;
};

// A status answer on its way; its payload must live until the send completes.
struct PendingReply {
  MPI_Request request = MPI_REQUEST_NULL;
  int64_t payload[3] = {0, 0, 0};
};

// The process's service state (never destroyed: the watchdog thread may use it during exit).
struct Service {
  std::mutex mu;
  bool started = false;  // poller, reporter and finalize hook installed
  bool alive = false;    // MPI may be used (false after shutdown)
  std::vector<Channel> channels;
  std::vector<std::unique_ptr<PendingReply>> pending;
};

Service& GetService() {
  static Service* service = new Service;
  return *service;
}

// Answers every waiting status request and retires completed answers. Caller holds `service.mu`.
void ServiceRequestsLocked(Service& service) {
  if (!service.alive) return;
  for (const Channel& channel : service.channels) {
    for (;;) {
      int waiting = 0;
      MPI_Status status;
      if (MPI_Iprobe(MPI_ANY_SOURCE, kRequestTag, channel.control, &waiting, &status) != MPI_SUCCESS || !waiting) {
        break;
      }
      int64_t request[2];
      MPI_Recv(request, 2, MPI_INT64_T, status.MPI_SOURCE, kRequestTag, channel.control, MPI_STATUS_IGNORE);
      auto reply = std::make_unique<PendingReply>();
      reply->payload[0] = channel.progress->entered.load();
      reply->payload[1] = channel.progress->entered_kind.load();
      reply->payload[2] = channel.progress->completed.load();
      MPI_Isend(reply->payload, 3, MPI_INT64_T, status.MPI_SOURCE, kReplyTag, channel.control, &reply->request);
      service.pending.push_back(std::move(reply));
    }
  }
  for (auto it = service.pending.begin(); it != service.pending.end();) {
    int done = 0;
    MPI_Test(&(*it)->request, &done, MPI_STATUS_IGNORE);
    it = done ? service.pending.erase(it) : it + 1;
  }
}

// MPI_COMM_SELF attribute destructor: MPI_Finalize runs it first, while MPI is still fully usable.
int StopBeforeFinalize(MPI_Comm, int, void*, void*) {
  StopSideChannel();
  ShutdownPeerStatus();
  return MPI_SUCCESS;
}

// Installs the watchdog poller, the peer reporter and the finalize hook. Caller holds `service.mu`.
void StartLocked(Service& service) {
  service.started = true;
  service.alive = true;
  int keyval = MPI_KEYVAL_INVALID;
  MPI_Comm_create_keyval(MPI_COMM_NULL_COPY_FN, &StopBeforeFinalize, &keyval, nullptr);
  MPI_Comm_set_attr(MPI_COMM_SELF, keyval, nullptr);
  Watchdog& watchdog = Watchdog::Get();
  watchdog.AddPoller([] {
    Service& s = GetService();
    std::lock_guard<std::mutex> lock(s.mu);
    ServiceRequestsLocked(s);
    return absl::OkStatus();
  });
  watchdog.SetPeerReporter(&ReportMissingPeers);
}

// Describes peer `peer` for a report about collective `sequence` given its answer (entered, kind, completed), or
// "" when it has already entered that collective.
std::string DescribePeer(int peer, uint64_t sequence, const int64_t answer[3]) {
  const int64_t entered = answer[0];
  if (entered >= static_cast<int64_t>(sequence)) return "";
  if (entered < 0) return absl::StrCat(peer, " (no collective yet)");
  const absl::string_view kind = CollectiveName(static_cast<CollectiveKind>(answer[1]));
  const bool in_flight = answer[2] < entered;
  return absl::StrCat(peer, in_flight ? " (at #" : " (after #", entered, " ", kind, ")");
}

}  // namespace

ProgressScope::ProgressScope(PeerProgress& progress, uint64_t sequence, CollectiveKind kind)
    : progress_(progress), sequence_(static_cast<int64_t>(sequence)) {
  MarkCollectiveEntered(progress_, sequence_, kind);
}

ProgressScope::~ProgressScope() { MarkCollectiveCompleted(progress_, sequence_); }

void RegisterPeerStatus(MPI_Comm control, const std::string& name, int rank, int size,
                        std::shared_ptr<PeerProgress> progress) {
  Service& service = GetService();
  std::lock_guard<std::mutex> lock(service.mu);
  if (!service.started) StartLocked(service);
  if (!service.alive) return;
  service.channels.push_back(Channel{control, name, rank, size, std::move(progress)});
}

void UnregisterPeerStatus(MPI_Comm control) {
  Service& service = GetService();
  std::lock_guard<std::mutex> lock(service.mu);
  for (auto it = service.channels.begin(); it != service.channels.end(); ++it) {
    if (it->control == control) {
      service.channels.erase(it);
      return;
    }
  }
}

void ShutdownPeerStatus() {
  Service& service = GetService();
  std::lock_guard<std::mutex> lock(service.mu);
  if (!service.alive) return;
  service.alive = false;
  for (auto& reply : service.pending) {
    int done = 0;
    MPI_Test(&reply->request, &done, MPI_STATUS_IGNORE);
    if (!done) {
      MPI_Request_free(&reply->request);
      reply.release();  // the payload may still be read by MPI: leak it rather than free it under MPI's feet
    }
  }
  service.pending.clear();
  service.channels.clear();
}

std::string ReportMissingPeers(const CollectiveRecord& record) {
  if (record.backend != "mpi") return "";
  // With the side channel: world ranks and hosts of every rank (also one stopped outside this communicator).
  if (std::string world_report = DescribeLateCollective(record); !world_report.empty()) return world_report;
  Service& service = GetService();
  std::lock_guard<std::mutex> lock(service.mu);
  if (!service.alive) return "";
  const Channel* channel = nullptr;
  for (const Channel& candidate : service.channels) {
    const int64_t entered = candidate.progress->entered.load();
    if (candidate.name == record.comm_name && candidate.rank == record.rank && candidate.size == record.size &&
        entered == static_cast<int64_t>(record.sequence) && candidate.progress->completed.load() < entered) {
      channel = &candidate;
      break;
    }
  }
  if (channel == nullptr) return "";
  const int size = channel->size;
  const int self = channel->rank;
  const MPI_Comm control = channel->control;

  // Buffers are leaked if any request is still pending at the end (MPI may touch them later).
  auto* request = new int64_t[2]{static_cast<int64_t>(record.sequence), static_cast<int64_t>(record.kind)};
  auto* answers = new int64_t[3 * static_cast<size_t>(size)]();
  std::vector<MPI_Request> sends(size, MPI_REQUEST_NULL);
  std::vector<MPI_Request> receives(size, MPI_REQUEST_NULL);
  std::vector<bool> answered(size, false);
  int outstanding = 0;
  for (int peer = 0; peer < size; ++peer) {
    if (peer == self) continue;
    MPI_Irecv(answers + 3 * peer, 3, MPI_INT64_T, peer, kReplyTag, control, &receives[peer]);
    MPI_Isend(request, 2, MPI_INT64_T, peer, kRequestTag, control, &sends[peer]);
    ++outstanding;
  }
  const auto give_up = std::chrono::steady_clock::now() + kAnswerWindow;
  while (outstanding > 0 && std::chrono::steady_clock::now() < give_up) {
    for (int peer = 0; peer < size; ++peer) {
      if (receives[peer] == MPI_REQUEST_NULL) continue;
      int done = 0;
      MPI_Test(&receives[peer], &done, MPI_STATUS_IGNORE);
      if (done) {
        answered[peer] = true;
        --outstanding;
      }
    }
    ServiceRequestsLocked(service);  // other late ranks may be asking this one at the same time
    if (outstanding > 0) std::this_thread::sleep_for(kAnswerPoll);
  }
  bool all_complete = true;
  for (int peer = 0; peer < size; ++peer) {
    if (receives[peer] != MPI_REQUEST_NULL) {
      MPI_Cancel(&receives[peer]);
      MPI_Request_free(&receives[peer]);
      all_complete = false;
    }
    if (sends[peer] != MPI_REQUEST_NULL) {
      int done = 0;
      MPI_Test(&sends[peer], &done, MPI_STATUS_IGNORE);
      if (!done) {
        MPI_Request_free(&sends[peer]);
        all_complete = false;
      }
    }
  }

  std::vector<std::string> missing;
  for (int peer = 0; peer < size; ++peer) {
    if (peer == self) continue;
    if (!answered[peer]) {
      missing.push_back(absl::StrCat(peer, " (no answer)"));
      continue;
    }
    std::string description = DescribePeer(peer, record.sequence, answers + 3 * peer);
    if (!description.empty()) missing.push_back(std::move(description));
  }
  if (all_complete) {
    delete[] request;
    delete[] answers;
  }
  if (missing.empty()) return absl::StrCat("none (every peer entered #", record.sequence, ")");
  return absl::StrJoin(missing, ", ");
}

}  // namespace kachi
