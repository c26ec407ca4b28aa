// Host placement (see host_placement.h): group ranks by host, keep the identity order when it is already good, and
// gather host names over a communicator in fixed-size slots.
#include "comm/host_placement.h"

#include <cstdint>
#include <cstring>
#include <functional>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "kernels/base/status_macros.h"

namespace kachi {
namespace {

constexpr size_t kSlotBytes = 64;

// Hosts in order of their lowest rank, each with its ranks ascending.
std::vector<std::pair<std::string, std::vector<int>>> RanksByHost(const std::vector<std::string>& hosts) {
  std::vector<std::pair<std::string, std::vector<int>>> groups;
  std::map<std::string, size_t> index;
  for (int r = 0; r < static_cast<int>(hosts.size()); ++r) {
    auto [it, fresh] = index.emplace(hosts[r], groups.size());
    if (fresh) groups.push_back({hosts[r], {}});
    groups[it->second].second.push_back(r);
  }
  return groups;
}

// The name as stored in one slot (at most kSlotBytes - 1 characters).
std::string SlotName(const std::string& host) {
  if (host.size() < kSlotBytes) return host;
  return absl::StrCat(host.substr(0, kSlotBytes - 18), "~", absl::StrFormat("%016x", std::hash<std::string>{}(host)));
}

}  // namespace

std::string DescribeHosts(const std::vector<std::string>& hosts) {
  std::vector<std::string> parts;
  for (const auto& [host, ranks] : RanksByHost(hosts)) {
    parts.push_back(absl::StrCat(host, ": rank", ranks.size() == 1 ? " " : "s ", absl::StrJoin(ranks, ", ")));
  }
  return absl::StrJoin(parts, " | ");
}

absl::StatusOr<std::vector<int>> PlaceByHost(const std::vector<std::string>& hosts, int tp) {
  const int n = static_cast<int>(hosts.size());
  if (tp <= 0 || n % tp != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("host placement: ", n, " ranks cannot form TP groups of ", tp, " (", DescribeHosts(hosts), ")"));
  }
  std::vector<int> order(n);
  bool identity_fits = true;
  for (int r = 0; r < n; ++r) {
    order[r] = r;
    if (hosts[r] != hosts[r - r % tp]) identity_fits = false;
  }
  if (identity_fits) return order;
  const auto groups = RanksByHost(hosts);
  std::vector<std::string> uneven;
  for (const auto& [host, ranks] : groups) {
    if (ranks.size() % tp != 0) {
      uneven.push_back(absl::StrCat(host, " (", ranks.size(), " rank", ranks.size() == 1 ? "" : "s", ": ",
                                    absl::StrJoin(ranks, ", "), ")"));
    }
  }
  if (!uneven.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "host placement: a TP group of ", tp, " ranks must lie on one host, but ", absl::StrJoin(uneven, ", "),
        uneven.size() == 1 ? " holds" : " hold", " a number of ranks that is not a multiple of ", tp,
        "; every host: ", DescribeHosts(hosts), " (launch a multiple of tp ranks per host, or lower tp)"));
  }
  order.clear();
  for (const auto& [host, ranks] : groups) order.insert(order.end(), ranks.begin(), ranks.end());
  return order;
}

absl::StatusOr<std::vector<std::string>> GatherHosts(Communicator& comm, const std::string& host) {
  // Slots of int32 so that every backend (NCCL included, through its host staging) can carry them.
  constexpr size_t kWords = kSlotBytes / sizeof(int32_t);
  int32_t mine[kWords] = {};
  const std::string name = SlotName(host);
  std::memcpy(mine, name.data(), name.size());
  std::vector<int32_t> all(kWords * comm.size());
  KACHI_RETURN_IF_ERROR(comm.AllGather(mine, all.data(), kWords, DType::kInt32));
  std::vector<std::string> hosts(comm.size());
  for (int r = 0; r < comm.size(); ++r) {
    const char* slot = reinterpret_cast<const char*>(all.data() + r * kWords);
    hosts[r] = std::string(slot, strnlen(slot, kSlotBytes));
  }
  return hosts;
}

}  // namespace kachi
