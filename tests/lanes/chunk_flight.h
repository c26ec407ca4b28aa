// What the lanes tests that drive a LanePolicy the way the coordinator does share: a chunk in flight, taking the
// one that ends first, and the journal event of a finished chunk (its run and its report).
#ifndef KACHI_TESTS_LANES_CHUNK_FLIGHT_H_
#define KACHI_TESTS_LANES_CHUNK_FLIGHT_H_

#include <algorithm>
#include <cstdint>
#include <vector>

#include "launcher/lanes/journal.h"

namespace kachi::lanes {

// One chunk of a lane on its cards, from step `from` to `to`, begun and ending at simulated times.
struct ChunkFlight {
  int lane;
  std::vector<int> cards;
  int64_t from, to;
  double begin, end;
};

// Removes and returns the chunk of non-empty `flights` that ends first.
inline ChunkFlight TakeFirstToEnd(std::vector<ChunkFlight>& flights) {
  auto first = std::min_element(flights.begin(), flights.end(),
                                [](const ChunkFlight& a, const ChunkFlight& b) { return a.end < b.end; });
  const ChunkFlight flight = *first;
  flights.erase(first);
  return flight;
}

// The journal event of finished `flight` with `loss`: its run and its report, a FAILURE ("diverged", checkpoint at
// the chunk's start) when `diverged`, else checkpointed at its end, a TARGET when it reached the lane's rung in
// `policy`, a TICK otherwise.
inline config::LanesJournalEvent FinishedChunkEvent(const ChunkFlight& flight, double loss, bool diverged,
                                                    const LanePolicy& policy) {
  config::LanesJournalEvent event;
  config::LanesJournalRun* run = event.add_runs();
  run->set_lane(flight.lane);
  for (int card : flight.cards) run->add_cards(card);
  run->set_from_step(flight.from);
  run->set_to_step(flight.to);
  run->set_begin_s(flight.begin);
  run->set_end_s(flight.end);
  config::LanesJournalReport* report = event.add_reports();
  report->set_lane(flight.lane);
  report->set_step(flight.to);
  report->set_loss(loss);
  if (diverged) {
    report->set_kind(config::LanesJournalReport::FAILURE);
    report->set_reason("diverged");
    report->set_checkpoint_step(flight.from);
  } else {
    report->set_checkpoint_step(flight.to);
    report->set_kind(flight.to == policy.Targets()[policy.status(flight.lane).target]
                         ? config::LanesJournalReport::TARGET
                         : config::LanesJournalReport::TICK);
  }
  return event;
}

}  // namespace kachi::lanes

#endif  // KACHI_TESTS_LANES_CHUNK_FLIGHT_H_
