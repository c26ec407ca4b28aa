// Step timelines and their Chrome-trace serialization (see timeline.h).
#include "runtime/train/timeline.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace kachi {
namespace {

// `text` as a JSON string literal (quotes, backslashes and control characters escaped).
std::string JsonString(absl::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      absl::StrAppendFormat(&out, "\\u%04x", static_cast<int>(c));
    } else {
      out += c;
    }
  }
  return out + "\"";
}

// The timeline attached to this thread (ScopedTimeline).
thread_local StepTimeline* thread_timeline = nullptr;

}  // namespace

StepTimeline* StepTimeline::ForThisThread() { return thread_timeline; }

ScopedTimeline::ScopedTimeline(StepTimeline* timeline) : previous_(thread_timeline) { thread_timeline = timeline; }

ScopedTimeline::~ScopedTimeline() { thread_timeline = previous_; }

absl::string_view TimelineCategoryName(TimelineCategory category) {
  switch (category) {
    case TimelineCategory::kCompute: return "compute";
    case TimelineCategory::kComm: return "comm";
    case TimelineCategory::kOptimizer: return "optimizer";
    case TimelineCategory::kData: return "data";
    case TimelineCategory::kCheckpoint: return "checkpoint";
    case TimelineCategory::kStep: return "step";
  }
  return "unknown";
}

StepTimeline::~StepTimeline() {
  if (in_step_) SetThreadCollectiveObserver(previous_observer_);
}

void StepTimeline::BeginStep(int64_t step) {
  if (in_step_) EndStep();
  in_step_ = true;
  step_ = step;
  step_begin_ = absl::Now();
  comm_s_ = 0;
  open_ = StepBreakdown{};
  previous_observer_ = SetThreadCollectiveObserver(this);
}

StepBreakdown StepTimeline::EndStep() {
  if (!in_step_) return StepBreakdown{};
  const absl::Time end = absl::Now();
  SetThreadCollectiveObserver(previous_observer_);
  in_step_ = false;
  StepBreakdown result = open_;
  result.total_s = absl::ToDoubleSeconds(end - step_begin_);
  result.comm_s = comm_s_;
  result.compute_s =
      std::max(0.0, result.total_s - result.comm_s - result.optimizer_s - result.data_s - result.checkpoint_s);
  if (keep_events_) {
    events_.push_back(TimelineEvent{TimelineCategory::kStep, absl::StrCat("step ", step_), step_begin_,
                                    end - step_begin_});
  }
  steps_.push_back(result);
  return result;
}

void StepTimeline::AddSpan(TimelineCategory category, absl::string_view name, absl::Time begin, absl::Time end,
                           double inner_comm_s) {
  if (!in_step_) return;
  const double own = std::max(0.0, absl::ToDoubleSeconds(end - begin) - inner_comm_s);
  switch (category) {
    case TimelineCategory::kComm: comm_s_ += own; break;
    case TimelineCategory::kOptimizer: open_.optimizer_s += own; break;
    case TimelineCategory::kData: open_.data_s += own; break;
    case TimelineCategory::kCheckpoint: open_.checkpoint_s += own; break;
    case TimelineCategory::kCompute:
    case TimelineCategory::kStep: break;  // compute is the rest of the step
  }
  if (keep_events_) events_.push_back(TimelineEvent{category, std::string(name), begin, end - begin});
}

void StepTimeline::OnCollective(CollectiveKind kind, absl::string_view comm_name, int group_size, size_t bytes,
                                absl::Time begin, absl::Time end) {
  if (!in_step_) return;
  comm_s_ += absl::ToDoubleSeconds(end - begin);
  if (!keep_events_) return;
  TimelineEvent event{TimelineCategory::kComm, std::string(CollectiveName(kind)), begin, end - begin};
  event.bytes = static_cast<int64_t>(bytes);
  event.comm = std::string(comm_name);
  event.group_size = group_size;
  events_.push_back(std::move(event));
}

absl::Time StepTimeline::first_event_time() const {
  absl::Time first = absl::InfiniteFuture();
  for (const TimelineEvent& event : events_) first = std::min(first, event.begin);
  return first;
}

std::string StepTimeline::ToChromeTraceEvents(int pid, absl::string_view process_name, absl::Time origin) const {
  std::vector<std::string> parts;
  parts.push_back(absl::StrFormat(
      R"({"name": "process_name", "ph": "M", "ts": 0, "dur": 0, "pid": %d, "tid": 0, "args": {"name": %s}})", pid,
      JsonString(process_name)));
  for (const TimelineEvent& event : events_) {
    std::string args;
    if (event.bytes >= 0) {
      args = absl::StrFormat(R"(, "args": {"bytes": %d, "comm": %s, "ranks": %d})", event.bytes,
                             JsonString(event.comm), event.group_size);
    }
    parts.push_back(absl::StrFormat(
        R"({"name": %s, "cat": "%s", "ph": "X", "ts": %.3f, "dur": %.3f, "pid": %d, "tid": 0%s})",
        JsonString(event.name), TimelineCategoryName(event.category),
        absl::ToDoubleMicroseconds(event.begin - origin), absl::ToDoubleMicroseconds(event.duration), pid, args));
  }
  return absl::StrJoin(parts, ",\n");
}

TimelineScope::TimelineScope(StepTimeline* timeline, TimelineCategory category, absl::string_view name)
    : timeline_(timeline), category_(category), name_(name) {
  if (timeline_ == nullptr) return;
  begin_ = absl::Now();
  comm_at_begin_ = timeline_->comm_seconds();
}

TimelineScope::~TimelineScope() {
  if (timeline_ == nullptr) return;
  timeline_->AddSpan(category_, name_, begin_, absl::Now(), timeline_->comm_seconds() - comm_at_begin_);
}

std::string ChromeTraceDocument(const std::vector<std::string>& per_rank_events) {
  std::vector<std::string> kept;
  for (const std::string& events : per_rank_events) {
    if (!events.empty()) kept.push_back(events);
  }
  return absl::StrCat("{\"displayTimeUnit\": \"ms\", \"traceEvents\": [\n", absl::StrJoin(kept, ",\n"), "\n]}\n");
}

}  // namespace kachi
