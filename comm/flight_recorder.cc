// The flight recorder (see flight_recorder.h).
#include "comm/flight_recorder.h"

#include <mutex>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "comm/communicator.h"

namespace kachi {
namespace {

struct Recorded {
  std::string name;
  std::vector<int> world_ranks;
  std::shared_ptr<PeerProgress> progress;
};

struct Registry {
  std::mutex mu;
  std::vector<Recorded> comms;
};

Registry& GetRegistry() {
  static Registry* registry = new Registry;  // never destroyed: read by the side channel's thread during exit
  return *registry;
}

}  // namespace

void RecordCommunicator(const std::string& name, std::vector<int> world_ranks,
                        std::shared_ptr<PeerProgress> progress) {
  Registry& registry = GetRegistry();
  std::lock_guard<std::mutex> lock(registry.mu);
  registry.comms.push_back(Recorded{name, std::move(world_ranks), std::move(progress)});
}

void ForgetCommunicator(const PeerProgress* progress) {
  Registry& registry = GetRegistry();
  std::lock_guard<std::mutex> lock(registry.mu);
  for (auto it = registry.comms.begin(); it != registry.comms.end(); ++it) {
    if (it->progress.get() == progress) {
      registry.comms.erase(it);
      return;
    }
  }
}

std::vector<FlightEntry> LocalFlightRecord() {
  Registry& registry = GetRegistry();
  std::lock_guard<std::mutex> lock(registry.mu);
  std::vector<FlightEntry> record;
  for (const Recorded& comm : registry.comms) {
    FlightEntry entry;
    entry.comm = comm.name;
    entry.world_ranks = comm.world_ranks;
    entry.stamp = comm.progress->stamp.load();
    entry.kind = comm.progress->entered_kind.load();
    entry.completed = comm.progress->completed.load();
    entry.entered = comm.progress->entered.load();
    record.push_back(std::move(entry));
  }
  return record;
}

std::string FlightRecordText(const std::vector<FlightEntry>& record) {
  std::string text;
  for (const FlightEntry& entry : record) {
    absl::StrAppend(&text, entry.comm, "|", absl::StrJoin(entry.world_ranks, ","), "|", entry.entered, "|",
                    entry.kind, "|", entry.completed, "|", entry.stamp, "\n");
  }
  return text;
}

std::vector<FlightEntry> ParseFlightRecord(const std::string& text) {
  std::vector<FlightEntry> record;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    std::vector<absl::string_view> fields = absl::StrSplit(line, '|');
    if (fields.size() != 6) continue;
    FlightEntry entry;
    entry.comm = std::string(fields[0]);
    bool ok = true;
    for (absl::string_view rank : absl::StrSplit(fields[1], ',', absl::SkipEmpty())) {
      int value = 0;
      ok = ok && absl::SimpleAtoi(rank, &value);
      entry.world_ranks.push_back(value);
    }
    ok = ok && absl::SimpleAtoi(fields[2], &entry.entered) && absl::SimpleAtoi(fields[3], &entry.kind) &&
         absl::SimpleAtoi(fields[4], &entry.completed) && absl::SimpleAtoi(fields[5], &entry.stamp);
    if (ok && entry.kind >= 0 && entry.kind <= static_cast<int>(CollectiveKind::kSplit)) {
      record.push_back(std::move(entry));
    }
  }
  return record;
}

std::string DescribeActivity(const std::vector<FlightEntry>& record) {
  const FlightEntry* latest = nullptr;
  for (const FlightEntry& entry : record) {
    if (entry.entered < 0) continue;
    if (latest == nullptr || entry.stamp > latest->stamp) latest = &entry;
  }
  if (latest == nullptr) return "no collective yet";
  const std::string what = absl::StrCat(CollectiveName(static_cast<CollectiveKind>(latest->kind)), " #",
                                        latest->entered, " on ", latest->comm);
  if (latest->in_flight()) return absl::StrCat("waiting in ", what);
  return absl::StrCat("not in a collective (last: ", what, ")");
}

}  // namespace kachi
