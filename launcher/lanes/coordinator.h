// The lanes coordinator: a thread on world rank 0 that owns the policy and the journal during `kachi lanes`. It
// feeds each chunk report to the policy the moment it arrives (the policy's clock is real wall time), asks
// Decide(), journals the event (atomic rename) and at once sends the next chunk to every lane whose cards are all
// free, so a lane never waits for other lanes. A lane running chunk after chunk on the same cards keeps its trainer
// (no restore). A running lane's widening or shrinking takes effect at its next chunk boundary: cards given to it
// wait (idle) until its chunk ends; cards taken from it go to their new lane once its chunk ends. Idle ranks get
// heartbeats; a chunk silent for longer than the silence limit ends the job with a message naming its lane and
// cards.
#ifndef KACHI_LAUNCHER_LANES_COORDINATOR_H_
#define KACHI_LAUNCHER_LANES_COORDINATOR_H_

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "comm/control_channel.h"
#include "launcher/lanes/chunk_length.h"
#include "launcher/lanes/chunk_runner.h"
#include "launcher/lanes/policy.h"
#include "runtime/proto/lanes.pb.h"

namespace kachi::lanes {

// How the coordinator runs.
struct CoordinatorOptions {
  // Where the journal is rewritten after every event.
  std::string journal_path;
  // Steps a chunk trains at most (it also ends at the lane's next rung); with a checkpoint budget, the length of a
  // lane's first chunk at a width.
  int64_t chunk_steps = 1;
  // Fraction of a chunk's wall time its checkpoint may take (launcher/lanes/chunk_length.h: later chunks at a
  // width are as long as the lane's measured step and checkpoint seconds there need); 0 = fixed chunks.
  double checkpoint_budget = 0;
  // With a budget: the fewest steps of a chunk (unless its rung is nearer); 0 = chunk_steps.
  int64_t min_chunk_steps = 0;
  // Rank 0's live table and decisions (may be null).
  std::ostream* log = nullptr;
  // How often an idle rank is sent a heartbeat (well below the workers' idle deadline).
  absl::Duration heartbeat = absl::Seconds(15);
  // A running chunk that sends nothing for this long ends the job.
  absl::Duration silence_limit = absl::Seconds(240);
  // Test hook: after writing event K's journal the process exits (status 3) as a killed job would; -1: never.
  int exit_after_event = -1;
};

class Coordinator {
 public:
  // `policy` and `journal` are where the replay of the journal (if any) left them; `checkpoint_steps` gives each
  // lane's newest journaled checkpoint (0: none). All pointers must outlive Run().
  Coordinator(LanePolicy* policy, config::LanesJournal* journal, const std::vector<LaneRuntime>* lanes,
              std::vector<int64_t> checkpoint_steps, ControlChannel* channel, CoordinatorOptions options);

  // Runs the lanes to the end: events until the policy is done, then the journal marked complete, then STOP to
  // every rank. An error (a policy or journal error, a silent chunk, an unknown message) returns at once; the
  // caller ends the job (the workers may be in chunks).
  absl::Status Run();

 private:
  // A chunk sent and not yet reported.
  struct InFlight {
    uint64_t chunk = 0;
    int lane = 0;
    std::vector<int> cards;
    int64_t from_step = 0;
    int64_t to_step = 0;
    double begin_s = 0;       // the journal's clock when it was sent
    absl::Time last_heard;    // its last message (or when it was sent)
  };
  // Seconds on the journal's clock.
  double Now() const;
  // One event (index, time, session set here): feeds its reports to the policy, appends Decide()'s answer,
  // dispatches, then rewrites the journal.
  absl::Status Record(config::LanesJournalEvent event);
  // Sends a chunk to every running lane without one whose cards are all free; IDLE to newly free ranks.
  absl::Status Dispatch();
  // Handles one worker message.
  absl::Status Handle(const ControlMessage& message);
  // Heartbeats to idle ranks; the silence check of chunks in flight.
  absl::Status Watch();
  // One line per lane.
  void PrintTable() const;

  LanePolicy* policy_;
  config::LanesJournal* journal_;
  const std::vector<LaneRuntime>* lanes_;
  std::vector<int64_t> checkpoint_steps_;
  std::vector<double> last_loss_;
  ControlChannel* channel_;
  CoordinatorOptions options_;
  uint32_t session_ = 0;
  double clock_offset_s_ = 0;
  absl::Time started_;
  uint64_t next_chunk_ = 1;
  std::vector<InFlight> in_flight_;
  // Per rank: the chunk it runs (0: none), the last chunk it ran and still keeps a trainer of (0: none), when it
  // was last sent anything.
  std::vector<uint64_t> busy_;
  std::vector<uint64_t> kept_;
  std::vector<absl::Time> last_sent_;
  // Per lane: its last chunk, when that one ended at a TICK (so its cards may keep the trainer), else 0; and the
  // cards it ran on.
  std::vector<uint64_t> lane_last_chunk_;
  std::vector<std::vector<int>> lane_last_cards_;
  // Chunk lengths: the rule, and each lane's measured step and checkpoint seconds per width (from the journal's
  // runs on --resume, then from the reports).
  ChunkBudget budget_;
  ChunkMeasurements measured_;
  int replayed_measurements_ = 0;
};

}  // namespace kachi::lanes

#endif  // KACHI_LAUNCHER_LANES_COORDINATOR_H_
