// Discrete-event simulation of lanes under LanePolicy.
#include "launcher/lanes/simulator.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <queue>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "launcher/lanes/chunk_length.h"
#include "launcher/lanes/policy.h"

namespace kachi::lanes {
namespace {

// A simulated lane's execution state.
struct SimLane {
  bool running = false;
  int cards = 0;
  // Progress is linear from (segment_start_s, segment_start_step) at step_s seconds per step.
  double segment_start_s = 0;
  double segment_start_step = 0;
  double step_s = 0;
  // With chunks: the current chunk's steps (from segment_start_step; a lane is re-planned at every chunk end), the
  // cards it trains on, when it was planned, whether a re-plan at that time restores (a chunk end: new cards
  // restore the checkpoint), and the step time a resize switches to at the chunk's end (0: none pending).
  int64_t chunk_steps = 0;
  int chunk_cards = 0;
  double planned_s = -1;
  bool replan_restores = false;
  double pending_step_s = 0;
  // Bumped whenever the lane's schedule changes, so older queued events are ignored.
  uint64_t version = 0;
  double finished_s = 0;
};

// What a lane reaches at an event.
enum class EventKind {
  kTarget,    // its next target (rung or max_steps), after its checkpoint
  kDiverges,  // its divergence step
  kChunkEnd,  // the end of a chunk before its target, after its checkpoint (the executor's TICK)
};

// A lane reaching something at a time.
struct Event {
  double time_s;
  int lane;
  uint64_t version;
  EventKind kind;
  int64_t step;  // kChunkEnd: the chunk's last step
  bool operator>(const Event& other) const {
    return std::tie(time_s, lane, version) > std::tie(other.time_s, other.lane, other.version);
  }
};

class Simulation {
 public:
  Simulation(const SimulationInput& input, LanePolicy policy)
      : input_(input),
        policy_(std::move(policy)),
        lanes_(input.lanes.size()),
        measured_(static_cast<int>(input.lanes.size())) {
    result_.cards = input.pool.cards;
    budget_.default_steps = std::max<int64_t>(1, input.timing.chunk_steps);
    budget_.checkpoint_budget = input.timing.checkpoint_budget;
    budget_.min_steps = input.timing.min_chunk_steps > 0 ? input.timing.min_chunk_steps : budget_.default_steps;
  }

  absl::StatusOr<SimulationResult> Run() {
    Apply(policy_.Decide(), 0);
    double now = 0;
    while (!events_.empty()) {
      // A superseded event (its lane was re-planned since) neither reports nor moves the clock.
      const Event& top = events_.top();
      if (!lanes_[top.lane].running || lanes_[top.lane].version != top.version) {
        events_.pop();
        continue;
      }
      now = top.time_s;
      held_card_s_ += held_cards_ * (now - clock_s_);
      clock_s_ = now;
      std::vector<Event> batch;
      while (!events_.empty() && events_.top().time_s == now) {
        const Event event = events_.top();
        events_.pop();
        const SimLane& lane = lanes_[event.lane];
        if (lane.running && lane.version == event.version) batch.push_back(event);
      }
      std::vector<LaneProgress> chunk_ends;
      for (const Event& event : batch) {
        if (event.kind == EventKind::kChunkEnd) {
          AddSamples(event.lane, event.step, &chunk_ends);
          chunk_ends.push_back(ChunkEnd(event, now));
        } else if (absl::Status status = Report(event, now); !status.ok()) {
          return status;
        }
      }
      std::vector<LaneProgress> progress = Progress(now);
      progress.insert(progress.end(), chunk_ends.begin(), chunk_ends.end());
      if (absl::Status status = policy_.OnTick(now, progress); !status.ok()) return status;
      Apply(policy_.Decide(), now);
    }
    if (!policy_.Done()) {
      return absl::InternalError(absl::StrCat("simulation stalled at t=", now,
                                              "s: the policy left lanes runnable with no lane running"));
    }
    Finish(now);
    return std::move(result_);
  }

 private:
  int64_t TargetStep(int lane) const { return policy_.NextTargetStep(lane); }

  // The lane's (fractional) step at `now_s`: chunks of chunk_steps steps, each followed by a checkpoint.
  double CurrentStep(int lane, double now_s) const {
    const SimLane& s = lanes_[lane];
    if (now_s <= s.segment_start_s) return s.segment_start_step;
    const double elapsed = now_s - s.segment_start_s;
    double steps = elapsed / s.step_s;
    const int64_t chunk = s.chunk_steps;
    if (chunk > 0) {
      const double period = chunk * s.step_s + input_.timing.checkpoint_s;
      const double full = std::floor(elapsed / period);
      steps = full * chunk + std::min<double>(chunk, (elapsed - full * period) / s.step_s);
    }
    return std::min<double>(TargetStep(lane), s.segment_start_step + steps);
  }

  // When the lane reaches `step` (>= its segment start) at its current width: its steps plus a checkpoint at every
  // chunk boundary strictly before `step`.
  double TimeToReach(int lane, double step) const {
    const SimLane& s = lanes_[lane];
    const double n = std::max(0.0, step - s.segment_start_step);
    const int64_t chunk = s.chunk_steps;
    const double boundaries = chunk > 0 && n > 0 ? std::floor((n - 1e-9) / chunk) : 0;
    return s.segment_start_s + n * s.step_s + boundaries * input_.timing.checkpoint_s;
  }

  // Plans the lane's segment from (segment_start_s, segment_start_step) at step_s on `cards` cards: its chunk
  // length (chunk_length.h, from what its earlier chunks at this width measured) and its events.
  void Plan(int lane, double now_s, int cards, bool replan_restores) {
    SimLane& s = lanes_[lane];
    s.chunk_cards = cards;
    s.planned_s = now_s;
    s.replan_restores = replan_restores;
    s.pending_step_s = 0;
    s.chunk_steps = input_.timing.chunk_steps > 0
                        ? NextChunkSteps(budget_, measured_.At(lane, cards),
                                         static_cast<int64_t>(std::llround(s.segment_start_step)), TargetStep(lane))
                        : 0;
    Schedule(lane);
  }

  // The loss samples inside the lane's chunk ending at `end` (SimTiming::loss_sample_steps; none by default).
  void AddSamples(int lane, int64_t end, std::vector<LaneProgress>* progress) const {
    const int64_t every = input_.timing.loss_sample_steps;
    if (every <= 0 || input_.timing.chunk_steps <= 0) return;
    const int64_t start = static_cast<int64_t>(std::llround(lanes_[lane].segment_start_step));
    for (int64_t step = (start / every + 1) * every; step < end; step += every) {
      const double loss = input_.curves[lane]->LossAt(step);
      if (std::isfinite(loss)) progress->push_back(LaneProgress{lane, step, loss, false});
    }
  }

  // A chunk that ended with its checkpoint at `step` (a chunk end or the target): measured, and logged.
  void EndChunk(int lane, int64_t step) {
    const SimLane& s = lanes_[lane];
    if (input_.timing.chunk_steps <= 0) return;
    const int64_t steps = step - static_cast<int64_t>(std::llround(s.segment_start_step));
    if (steps <= 0) return;
    const double train_s = static_cast<double>(steps) * s.step_s;
    measured_.Record(lane, s.chunk_cards, steps, train_s, input_.timing.checkpoint_s);
    ++result_.chunks;
    result_.chunk_train_card_s += train_s * s.chunk_cards;
    result_.chunk_checkpoint_card_s += input_.timing.checkpoint_s * s.chunk_cards;
    if (input_.keep_chunks) {
      result_.chunk_log.push_back(
          SimChunk{lane, s.chunk_cards, step - steps, step, train_s, input_.timing.checkpoint_s});
    }
  }

  void Schedule(int lane) {
    SimLane& s = lanes_[lane];
    ++s.version;
    const int64_t target = TargetStep(lane);
    const int64_t diverge = input_.curves[lane]->DivergeStep();
    if (diverge >= 0 && diverge < target) {
      events_.push(Event{TimeToReach(lane, static_cast<double>(diverge)), lane, s.version, EventKind::kDiverges, 0});
    } else {
      events_.push(Event{TimeToReach(lane, static_cast<double>(target)) + input_.timing.checkpoint_s, lane, s.version,
                         EventKind::kTarget, 0});
    }
    ScheduleChunkEnd(lane, static_cast<int64_t>(std::llround(s.segment_start_step)) + s.chunk_steps);
  }

  // The lane's chunk ending at `step` (after its checkpoint), when chunks are simulated and it comes before the
  // lane's target and divergence.
  void ScheduleChunkEnd(int lane, int64_t step) {
    if (input_.timing.chunk_steps <= 0 || step >= TargetStep(lane)) return;
    const int64_t diverge = input_.curves[lane]->DivergeStep();
    if (diverge >= 0 && diverge <= step) return;
    events_.push(Event{TimeToReach(lane, static_cast<double>(step)) + input_.timing.checkpoint_s, lane,
                       lanes_[lane].version, EventKind::kChunkEnd, step});
  }

  // A chunk's end: the lane's progress at its checkpoint (the policy may cut it there); its next chunk planned from
  // there, at the width a resize asked for meanwhile (the new cards restore the checkpoint).
  LaneProgress ChunkEnd(const Event& event, double now_s) {
    SimLane& s = lanes_[event.lane];
    EndChunk(event.lane, event.step);
    s.segment_start_step = static_cast<double>(event.step);
    s.segment_start_s = now_s;
    if (s.pending_step_s > 0) {
      s.step_s = s.pending_step_s;
      s.segment_start_s += input_.timing.restore_s;
    }
    Plan(event.lane, now_s, s.cards, true);
    return LaneProgress{event.lane, event.step, input_.curves[event.lane]->LossAt(event.step), true};
  }

  // The lane changes to `step_s` per step: at once (checkpoint + restore, no chunks) or, with chunks, at its current
  // chunk's end, as the executor resizes (it trains on at its old width until then; a lane planned in this very
  // round, nothing trained since, takes the new width for the chunk it is about to run, the new cards restoring
  // after a chunk end); a chunk ending at its target leaves its schedule as is.
  void Resize(int lane, double now_s, double step_s) {
    SimLane& s = lanes_[lane];
    if (input_.timing.chunk_steps <= 0) {
      s.segment_start_step = CurrentStep(lane, now_s);
      s.segment_start_s = std::max(now_s, s.segment_start_s) + input_.timing.checkpoint_s + input_.timing.restore_s;
      s.step_s = step_s;
      Schedule(lane);
      return;
    }
    if (s.planned_s == now_s) {
      if (s.replan_restores) s.segment_start_s = now_s + input_.timing.restore_s;
      s.step_s = step_s;
      Plan(lane, now_s, s.cards, s.replan_restores);
      return;
    }
    s.pending_step_s = step_s;
  }

  absl::Status Report(const Event& event, double now_s) {
    SimLane& s = lanes_[event.lane];
    s.running = false;
    held_cards_ -= s.cards;
    s.cards = 0;
    const LearningCurve& curve = *input_.curves[event.lane];
    if (event.kind == EventKind::kDiverges) {
      const int64_t step = curve.DivergeStep();
      return policy_.OnTick(now_s, {LaneProgress{event.lane, step, curve.LossAt(step)}});
    }
    const int64_t target = TargetStep(event.lane);
    std::vector<LaneProgress> samples;
    AddSamples(event.lane, target, &samples);
    if (!samples.empty()) {
      if (absl::Status status = policy_.OnTick(now_s, samples); !status.ok()) return status;
    }
    EndChunk(event.lane, target);
    return policy_.OnRungReached(event.lane, target, curve.LossAt(target), now_s);
  }

  // Progress of every running lane between events, for the policy's widening decisions, when chunks are not
  // simulated (with chunks, as in the real executor, a lane reports only at its chunk ends).
  std::vector<LaneProgress> Progress(double now_s) const {
    std::vector<LaneProgress> progress;
    if (input_.timing.chunk_steps > 0) return progress;
    for (int lane = 0; lane < static_cast<int>(lanes_.size()); ++lane) {
      if (!lanes_[lane].running || policy_.status(lane).state != LaneState::kRunning) continue;
      const int64_t step = static_cast<int64_t>(std::floor(CurrentStep(lane, now_s)));
      const double loss = input_.curves[lane]->LossAt(step);
      if (std::isfinite(loss)) progress.push_back(LaneProgress{lane, step, loss});
    }
    return progress;
  }

  void Apply(std::vector<Decision> decisions, double now_s) {
    for (Decision& decision : decisions) {
      const int lane = decision.lane;
      SimLane& s = lanes_[lane];
      const int tp = input_.lanes[lane].tp;
      const int cards = static_cast<int>(decision.cards.size());
      switch (decision.kind) {
        case DecisionKind::kStart:
          ++result_.starts;
          // Started wider than its minimum: the policy widened it in the round it started.
          if (cards / tp > AllowedWidths(input_.lanes[lane], input_.pool).front()) ++result_.widens;
          s.running = true;
          held_cards_ += cards;
          s.cards = cards;
          s.segment_start_step = static_cast<double>(decision.step);
          s.segment_start_s = now_s + (decision.step > 0 ? input_.timing.restore_s : 0);
          s.step_s = StepSeconds(input_.timing, cards / tp);
          Plan(lane, now_s, cards, false);
          break;
        case DecisionKind::kWiden:
        case DecisionKind::kShrink:
          ++(decision.kind == DecisionKind::kWiden ? result_.widens : result_.shrinks);
          held_cards_ += cards - s.cards;  // the new cards are held (idle) from now
          s.cards = cards;
          Resize(lane, now_s, StepSeconds(input_.timing, cards / tp));
          break;
        case DecisionKind::kPromote: ++result_.promotions; break;
        case DecisionKind::kPause:
          ++result_.pauses;
          if (s.running) {  // cut between rungs at its chunk end (predict_cut): its cards are free at once
            ++result_.cuts;
            s.running = false;
            held_cards_ -= s.cards;
            s.cards = 0;
            ++s.version;
          }
          break;
        case DecisionKind::kStop: ++result_.stops; break;
        case DecisionKind::kFinish:
          ++result_.finishes;
          s.finished_s = now_s;
          break;
      }
      if (input_.keep_decisions) result_.decisions.push_back(std::move(decision));
    }
  }

  void Finish(double now_s) {
    result_.makespan_s = now_s;
    result_.held_card_s = held_card_s_;
    result_.best_lane = policy_.BestLane();
    if (result_.best_lane) {
      result_.best_loss = policy_.status(*result_.best_lane).final_loss;
      result_.best_finished_s = lanes_[*result_.best_lane].finished_s;
    }
    double total_queue = 0;
    for (int lane = 0; lane < policy_.lane_count(); ++lane) {
      const LaneStatus& status = policy_.status(lane);
      total_queue += status.queued_s;
      result_.max_queue_s = std::max(result_.max_queue_s, status.queued_s);
      result_.paused_at_end += status.state == LaneState::kPaused ? 1 : 0;
    }
    result_.mean_queue_s = total_queue / policy_.lane_count();
  }

  const SimulationInput& input_;
  LanePolicy policy_;
  std::vector<SimLane> lanes_;
  std::priority_queue<Event, std::vector<Event>, std::greater<Event>> events_;
  SimulationResult result_;
  ChunkBudget budget_;
  ChunkMeasurements measured_;
  int held_cards_ = 0;
  double held_card_s_ = 0;
  double clock_s_ = 0;
};

}  // namespace

double StepSeconds(const SimTiming& timing, int width) {
  const int w = std::max(1, width);
  const double compute = timing.step_time_s * (timing.serial_fraction + (1.0 - timing.serial_fraction) / w);
  const double allreduce = w > 1 ? 2.0 * (w - 1) * timing.allreduce_alpha_s +
                                       2.0 * (w - 1) / w * timing.allreduce_beta_s
                                 : 0.0;
  return compute + allreduce;
}

absl::StatusOr<SimulationResult> Simulate(const SimulationInput& input) {
  if (input.curves.size() != input.lanes.size()) {
    return absl::InvalidArgumentError(absl::StrCat("simulation has ", input.lanes.size(), " lanes but ",
                                                   input.curves.size(), " curves; expected one curve per lane"));
  }
  for (size_t i = 0; i < input.curves.size(); ++i) {
    if (input.curves[i] == nullptr) return absl::InvalidArgumentError(absl::StrCat("lane ", i, " has no curve"));
  }
  const SimTiming& t = input.timing;
  if (!(t.step_time_s > 0) || !(t.serial_fraction >= 0 && t.serial_fraction <= 1) || !(t.checkpoint_s >= 0) ||
      !(t.restore_s >= 0) || !(t.allreduce_alpha_s >= 0) || !(t.allreduce_beta_s >= 0)) {
    return absl::InvalidArgumentError(absl::StrCat("simulator timing: step_time_s ", t.step_time_s,
                                                   ", serial_fraction ", t.serial_fraction, ", checkpoint_s ",
                                                   t.checkpoint_s, ", restore_s ", t.restore_s,
                                                   ", allreduce alpha ", t.allreduce_alpha_s, " beta ",
                                                   t.allreduce_beta_s,
                                                   "; expected step_time_s > 0, serial_fraction in [0, 1], "
                                                   "costs >= 0"));
  }
  if (t.chunk_steps > 0 || t.checkpoint_budget != 0) {
    ChunkBudget budget{std::max<int64_t>(1, t.chunk_steps), t.checkpoint_budget,
                       t.min_chunk_steps > 0 ? t.min_chunk_steps : std::max<int64_t>(1, t.chunk_steps)};
    if (t.chunk_steps <= 0 || t.min_chunk_steps < 0) budget.default_steps = 0;  // a budget needs chunks
    if (absl::Status status = ValidateChunkBudget(budget); !status.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("simulator timing: chunk_steps ", t.chunk_steps, ": ",
                                                     status.message()));
    }
  }
  absl::StatusOr<LanePolicy> policy = LanePolicy::Create(input.pool, input.options, input.lanes);
  if (!policy.ok()) return policy.status();
  return Simulation(input, *std::move(policy)).Run();
}

}  // namespace kachi::lanes
