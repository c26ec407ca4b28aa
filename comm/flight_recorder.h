// The flight recorder: for every communicator of this process, its name, its members as world ranks and its last
// collective entered and completed (sequence number, kind). Another rank asks for it over the side channel
// (comm/side_channel.h) when a collective is late, so a deadline message can say, in world ranks, who did not
// arrive and where each rank is instead. The record travels as text, one communicator per line.
#ifndef KACHI_COMM_FLIGHT_RECORDER_H_
#define KACHI_COMM_FLIGHT_RECORDER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "comm/mpi_peer_status.h"

namespace kachi {

// One communicator's line of a flight record.
struct FlightEntry {
  std::string comm;              // CommOptions::name
  std::vector<int> world_ranks;  // its members, in communicator rank order
  int64_t entered = -1;          // last collective entered (-1: none)
  int kind = 0;                  // its CollectiveKind
  int64_t completed = -1;        // last collective completed
  int64_t stamp = 0;             // process-wide order of the last entry (larger: used more recently)

  // True while this rank is inside a collective of this communicator.
  bool in_flight() const { return completed < entered; }
};

// Records communicator `name` with members `world_ranks` whose progress is `progress` (until Forget).
void RecordCommunicator(const std::string& name, std::vector<int> world_ranks,
                        std::shared_ptr<PeerProgress> progress);
// Stops recording the communicator whose progress is `progress`.
void ForgetCommunicator(const PeerProgress* progress);

// This process's record now.
std::vector<FlightEntry> LocalFlightRecord();
// Text form (one line per communicator: "name|r0,r1,...|entered|kind|completed|stamp") and back; lines that do
// not parse are skipped.
std::string FlightRecordText(const std::vector<FlightEntry>& record);
std::vector<FlightEntry> ParseFlightRecord(const std::string& text);

// "waiting in all_reduce #12 on world/tp" or "not in a collective (last: all_reduce #4 on world)" or "no
// collective yet", from a rank's record.
std::string DescribeActivity(const std::vector<FlightEntry>& record);

}  // namespace kachi

#endif  // KACHI_COMM_FLIGHT_RECORDER_H_
