// Failure messages in world ranks and host names (see failure_watch.h).
#include "comm/failure_watch.h"

#include <algorithm>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "comm/failure_codes.h"
#include "comm/flight_recorder.h"
#include "comm/side_channel.h"
#include "kernels/base/status_macros.h"

namespace kachi {
namespace {

// How long a late rank waits for its peers' flight records.
constexpr absl::Duration kQueryWindow = absl::Seconds(2);

std::string Who(int rank, const std::vector<std::string>& hosts) {
  const std::string host = rank >= 0 && rank < static_cast<int>(hosts.size()) ? hosts[rank] : "?";
  return absl::StrCat("world rank ", rank, " (host ", host, ")");
}

std::string ListWho(const std::vector<int>& ranks, const std::vector<std::string>& hosts) {
  std::vector<std::string> parts;
  for (int rank : ranks) parts.push_back(Who(rank, hosts));
  return absl::StrJoin(parts, ", ");
}

std::string HostLostLine(const std::string& host, const std::vector<int>& ranks) {
  return absl::StrCat("kachi: HOST LOST ", host, " (world ranks ", absl::StrJoin(ranks, ", "), ")");
}

void OnPeerLoss(const std::vector<int>& dead) {
  Watchdog::Get().Fail(kPeerLostExitCode, PeerLossMessage(dead, SideChannelHosts(), SideChannelRank()));
}

}  // namespace

std::map<std::string, std::vector<int>> LostHosts(const std::vector<int>& gone, const std::vector<std::string>& hosts,
                                                  int self) {
  const std::set<int> gone_set(gone.begin(), gone.end());
  std::map<std::string, std::vector<int>> ranks_of;
  for (int r = 0; r < static_cast<int>(hosts.size()); ++r) ranks_of[hosts[r]].push_back(r);
  std::map<std::string, std::vector<int>> lost;
  for (const auto& [host, ranks] : ranks_of) {
    if (self >= 0 && self < static_cast<int>(hosts.size()) && host == hosts[self]) continue;
    if (std::all_of(ranks.begin(), ranks.end(), [&](int r) { return gone_set.count(r) > 0; })) lost[host] = ranks;
  }
  return lost;
}

std::string PeerLossMessage(const std::vector<int>& dead, const std::vector<std::string>& hosts, int self) {
  const auto lost = LostHosts(dead, hosts, self);
  std::vector<std::string> parts;
  std::set<int> named;
  for (const auto& [host, ranks] : lost) {
    parts.push_back(absl::StrCat(HostLostLine(host, ranks), ": every rank of it died (side-channel connections "
                                 "closed without a goodbye)"));
    named.insert(ranks.begin(), ranks.end());
  }
  std::vector<int> others;
  for (int rank : dead) {
    if (named.count(rank) == 0) others.push_back(rank);
  }
  if (!others.empty()) {
    parts.push_back(absl::StrCat("kachi: PEER LOST ", ListWho(others, hosts),
                                 " died (side-channel connection closed without a goodbye)"));
  }
  return absl::StrCat(absl::StrJoin(parts, "; "), "; seen by ", Who(self, hosts), ", which ends the job (exit ",
                      kPeerLostExitCode, ")");
}

absl::Status StartFailureWatch(MPI_Comm world) {
  KACHI_RETURN_IF_ERROR(StartSideChannel(world));
  const int self = SideChannelRank();
  Watchdog::Get().SetIdentity(Who(self, SideChannelHosts()));
  Watchdog::Get().AddAbortHook([] { AnnounceAbort(); });
  SetPeerLossHandler(&OnPeerLoss);
  return absl::OkStatus();
}

std::string DescribeLateCollective(const CollectiveRecord& record) {
  if (!SideChannelRunning()) return "";
  const int self = SideChannelRank();
  const std::vector<std::string> hosts = SideChannelHosts();
  const FlightEntry* late = nullptr;
  const std::vector<FlightEntry> local = LocalFlightRecord();
  for (const FlightEntry& entry : local) {
    if (entry.comm == record.comm_name && static_cast<int>(entry.world_ranks.size()) == record.size &&
        record.rank < record.size && entry.world_ranks[record.rank] == self &&
        entry.entered == static_cast<int64_t>(record.sequence) && entry.in_flight()) {
      late = &entry;
      break;
    }
  }
  if (late == nullptr) return "";
  const std::set<int> members(late->world_ranks.begin(), late->world_ranks.end());

  std::vector<int> silent, dead, left;
  std::vector<std::string> not_arrived;
  for (const PeerAnswer& answer : QueryPeers(kQueryWindow)) {
    switch (answer.state) {
      case PeerAnswer::kSilent: silent.push_back(answer.rank); continue;
      case PeerAnswer::kDead: dead.push_back(answer.rank); continue;
      case PeerAnswer::kLeft: left.push_back(answer.rank); continue;
      case PeerAnswer::kAnswered: break;
    }
    if (members.count(answer.rank) == 0) continue;
    const std::vector<FlightEntry> theirs = ParseFlightRecord(answer.record);
    bool arrived = false;
    for (const FlightEntry& entry : theirs) {
      if (entry.comm == late->comm && entry.world_ranks == late->world_ranks) {
        arrived = entry.entered >= late->entered;
      }
    }
    if (!arrived) {
      not_arrived.push_back(absl::StrCat(Who(answer.rank, hosts), ": ", DescribeActivity(theirs)));
    }
  }

  std::vector<int> gone = silent;
  gone.insert(gone.end(), dead.begin(), dead.end());
  const auto lost = LostHosts(gone, hosts, self);
  const std::string waited =
      absl::StrFormat("%s waited %.1f s in %s #%d on %s (world ranks %s)", Who(self, hosts),
                      absl::ToDoubleSeconds(absl::Now() - record.started), CollectiveName(record.kind),
                      record.sequence, record.comm_name, absl::StrJoin(late->world_ranks, ","));
  if (!lost.empty()) {
    std::vector<std::string> parts;
    for (const auto& [host, ranks] : lost) {
      parts.push_back(absl::StrCat(HostLostLine(host, ranks), ": no rank of it answers on the side channel "
                                   "(link down or host dead)"));
    }
    Watchdog::Get().Fail(kPeerLostExitCode, absl::StrCat(absl::StrJoin(parts, "; "), "; ", waited,
                                                         ", which ends the job (exit ", kPeerLostExitCode, ")"));
    return "";  // not reached with the default terminator
  }

  std::string report;
  if (!silent.empty()) {
    absl::StrAppend(&report, "; stopped or unreachable (no answer): ", ListWho(silent, hosts));
  }
  if (!dead.empty()) absl::StrAppend(&report, "; dead: ", ListWho(dead, hosts));
  if (!left.empty()) absl::StrAppend(&report, "; left the job: ", ListWho(left, hosts));
  if (!not_arrived.empty()) absl::StrAppend(&report, "; not arrived: ", absl::StrJoin(not_arrived, ", "));
  if (report.empty()) {
    report = absl::StrCat("; every rank answered and entered #", record.sequence, " (stuck inside the backend)");
  }
  absl::StrAppend(&report, " [world ranks of ", record.comm_name, ": ", absl::StrJoin(late->world_ranks, ","), "]");
  return report;
}

}  // namespace kachi
