// StepTimeline: where one rank's training steps go. A timeline attached to the training thread (ScopedTimeline) is
// found by the trainer (StepTimeline::ForThisThread), which opens and closes its steps in Trainer::Run and marks
// its phases (data, compute, optimizer, checkpoint, waits for communication) with TimelineScope; every collective
// the training thread issues during a step arrives through the communicator's CollectiveObserver with its bytes. Each step yields a breakdown whose
// parts add up to the step's wall time (communication is subtracted from the phase it happened in; compute is the
// rest), and the events serialize as Chrome-trace / Perfetto "X" events (`kachi train --timeline`,
// `kachi bench scaling --timeline`).
#ifndef KACHI_RUNTIME_TRAIN_TIMELINE_H_
#define KACHI_RUNTIME_TRAIN_TIMELINE_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "comm/collective_observer.h"
#include "comm/communicator.h"

namespace kachi {

// The kinds of time in a step; their names are the trace events' "cat".
enum class TimelineCategory : int { kCompute, kComm, kOptimizer, kData, kCheckpoint, kStep };

// "compute", "comm", "optimizer", "data", "checkpoint", "step".
absl::string_view TimelineCategoryName(TimelineCategory category);

// One traced interval on this rank.
struct TimelineEvent {
  TimelineCategory category = TimelineCategory::kCompute;
  std::string name;        // "forward_backward", "all_reduce", "step 3", ...
  absl::Time begin;
  absl::Duration duration;
  int64_t bytes = -1;      // collectives: this rank's payload (-1: not a collective)
  std::string comm;        // collectives: the communicator's name ("world/dp")
  int group_size = 0;      // collectives: ranks in that communicator
};

// Seconds of one step by kind; the parts add up to total_s (compute is total minus the others).
struct StepBreakdown {
  double total_s = 0;
  double compute_s = 0;
  double comm_s = 0;        // exposed: time the training thread spent in collectives or waiting for them
  double optimizer_s = 0;   // the optimizer's own time, collectives inside it not counted
  double data_s = 0;
  double checkpoint_s = 0;  // checkpoint stall, collectives inside it not counted
};

class StepTimeline : public CollectiveObserver {
 public:
  // `keep_events`: keep every event for ToChromeTraceEvents (else only the step breakdowns are kept).
  explicit StepTimeline(bool keep_events = true) : keep_events_(keep_events) {}
  ~StepTimeline() override;

  // The timeline attached to the calling thread (ScopedTimeline), or null.
  static StepTimeline* ForThisThread();

  // Opens step `step` and installs this timeline as the calling thread's collective observer.
  void BeginStep(int64_t step);
  // Closes the open step, restores the previous observer and returns (and keeps) its breakdown.
  StepBreakdown EndStep();
  bool in_step() const { return in_step_; }

  // A phase of the open step (ignored outside a step), of which `inner_comm_s` seconds were exposed communication
  // already recorded (not counted twice). Communication phases (waits for collectives) add to comm_s.
  void AddSpan(TimelineCategory category, absl::string_view name, absl::Time begin, absl::Time end,
               double inner_comm_s = 0);
  void OnCollective(CollectiveKind kind, absl::string_view comm_name, int group_size, size_t bytes, absl::Time begin,
                    absl::Time end) override;

  // Seconds of exposed communication recorded in the open step so far (TimelineScope subtracts it from its phase).
  double comm_seconds() const { return comm_s_; }
  // The breakdown of every closed step, in order.
  const std::vector<StepBreakdown>& steps() const { return steps_; }
  const std::vector<TimelineEvent>& events() const { return events_; }
  // The earliest event's begin (absl::InfiniteFuture() when there is none).
  absl::Time first_event_time() const;
  // The events as comma-separated Chrome-trace objects (no surrounding brackets): a process_name metadata event
  // naming `process_name` for `pid`, then one "X" event per interval with ts/dur in microseconds after `origin`,
  // tid 0, and args (bytes and communicator for collectives). Empty events give just the metadata event.
  std::string ToChromeTraceEvents(int pid, absl::string_view process_name, absl::Time origin) const;

 private:
  bool keep_events_;
  bool in_step_ = false;
  CollectiveObserver* previous_observer_ = nullptr;
  int64_t step_ = 0;
  absl::Time step_begin_;
  double comm_s_ = 0;
  StepBreakdown open_;  // the open step's optimizer/data/checkpoint time so far
  std::vector<StepBreakdown> steps_;
  std::vector<TimelineEvent> events_;
};

// Attaches `timeline` to the calling thread for the scope's lifetime (StepTimeline::ForThisThread), restoring the
// previous one after.
class ScopedTimeline {
 public:
  explicit ScopedTimeline(StepTimeline* timeline);
  ~ScopedTimeline();
  ScopedTimeline(const ScopedTimeline&) = delete;
  ScopedTimeline& operator=(const ScopedTimeline&) = delete;

 private:
  StepTimeline* previous_;
};

// Times a phase of the open step from construction to destruction and records it in `timeline` (may be null:
// then it does nothing; the one-argument form takes the calling thread's timeline). Communication inside the
// phase is subtracted from it in the breakdown.
class TimelineScope {
 public:
  TimelineScope(TimelineCategory category, absl::string_view name)
      : TimelineScope(StepTimeline::ForThisThread(), category, name) {}
  TimelineScope(StepTimeline* timeline, TimelineCategory category, absl::string_view name);
  ~TimelineScope();
  TimelineScope(const TimelineScope&) = delete;
  TimelineScope& operator=(const TimelineScope&) = delete;

 private:
  StepTimeline* timeline_;
  TimelineCategory category_;
  absl::string_view name_;
  absl::Time begin_;
  double comm_at_begin_ = 0;
};

// A Chrome-trace JSON document ({"traceEvents": [...], "displayTimeUnit": "ms"}) from per-rank event lists as
// ToChromeTraceEvents returns them (empty ones skipped).
std::string ChromeTraceDocument(const std::vector<std::string>& per_rank_events);

}  // namespace kachi

#endif  // KACHI_RUNTIME_TRAIN_TIMELINE_H_
