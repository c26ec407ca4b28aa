// The lanes coordinator (see coordinator.h): event loop, dispatch, journal, heartbeats.
#include "launcher/lanes/coordinator.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "launcher/lanes/journal.h"
#include "launcher/lanes/lane_messages.h"

namespace kachi::lanes {

Coordinator::Coordinator(LanePolicy* policy, config::LanesJournal* journal, const std::vector<LaneRuntime>* lanes,
                         std::vector<int64_t> checkpoint_steps, ControlChannel* channel, CoordinatorOptions options)
    : policy_(policy),
      journal_(journal),
      lanes_(lanes),
      checkpoint_steps_(std::move(checkpoint_steps)),
      last_loss_(lanes->size(), std::nan("")),
      channel_(channel),
      options_(std::move(options)),
      busy_(channel->size(), 0),
      kept_(channel->size(), 0),
      last_sent_(channel->size(), absl::InfinitePast()),
      lane_last_chunk_(lanes->size(), 0),
      lane_last_cards_(lanes->size()),
      measured_(static_cast<int>(lanes->size())) {
  budget_.default_steps = std::max<int64_t>(1, options_.chunk_steps);
  budget_.checkpoint_budget = options_.checkpoint_budget;
  budget_.min_steps = options_.min_chunk_steps > 0 ? options_.min_chunk_steps : budget_.default_steps;
  for (const config::LanesJournalEvent& event : journal_->events()) {
    for (const config::LanesJournalRun& run : event.runs()) {
      if (run.has_checkpoint_s()) {
        measured_.Record(run.lane(), run.cards_size(), run.to_step() - run.from_step(), run.train_s(),
                         run.checkpoint_s());
        ++replayed_measurements_;
      }
    }
  }
  if (journal_->events_size() > 0) {
    session_ = journal_->events(journal_->events_size() - 1).session() + 1;
    for (const config::LanesJournalEvent& event : journal_->events()) {
      for (const config::LanesJournalReport& report : event.reports()) {
        if (report.kind() != config::LanesJournalReport::FAILURE) last_loss_[report.lane()] = report.loss();
      }
    }
  }
  clock_offset_s_ = JournalSeconds(*journal_);
}

double Coordinator::Now() const { return clock_offset_s_ + absl::ToDoubleSeconds(absl::Now() - started_); }

absl::Status Coordinator::Record(config::LanesJournalEvent event) {
  event.set_index(static_cast<uint32_t>(journal_->events_size()));
  event.set_session(session_);
  event.set_time_s(std::max(Now(), JournalSeconds(*journal_)));
  if (absl::Status status = FeedEventReports(event, policy_); !status.ok()) {
    return absl::Status(status.code(), absl::StrCat("lanes policy: ", status.message()));
  }
  const std::vector<Decision> decisions = policy_->Decide();
  for (const Decision& decision : decisions) {
    *event.add_decisions() = DecisionToJournal(decision);
    if (options_.log) {
      *options_.log << "  " << DescribeDecision(decision, (*lanes_)[decision.lane].definition.name) << "\n";
    }
  }
  const bool done = policy_->Done() && in_flight_.empty();
  if (done) {
    journal_->set_complete(true);
    std::optional<int> best = policy_->BestLane();
    journal_->set_best_lane(best.has_value() ? *best : -1);
  }
  const int index = static_cast<int>(event.index());
  const bool changed = !decisions.empty();
  *journal_->add_events() = std::move(event);
  // Freed cards get their next chunk before the journal is written (so they do not wait for the disk). A crash
  // before the write loses nothing: those chunks' checkpoints are newer than the journal and discarded on resume,
  // and the replay makes the same decisions again.
  if (absl::Status status = Dispatch(); !status.ok()) return status;
  if (absl::Status status = WriteJournal(options_.journal_path, *journal_); !status.ok()) return status;
  if (options_.log && (changed || done)) PrintTable();
  if (index == options_.exit_after_event) {
    if (options_.log) *options_.log << "kachi lanes: test hook: exiting after event " << index << "\n" << std::flush;
    std::_Exit(3);
  }
  return absl::OkStatus();
}

absl::Status Coordinator::Dispatch() {
  for (int lane = 0; lane < policy_->lane_count(); ++lane) {
    const LaneStatus& status = policy_->status(lane);
    if (status.state != LaneState::kRunning || status.cards.empty()) continue;
    const bool running = std::any_of(in_flight_.begin(), in_flight_.end(),
                                     [&](const InFlight& chunk) { return chunk.lane == lane; });
    if (running) continue;  // resized lanes take their new cards at the chunk boundary
    const bool cards_free =
        std::all_of(status.cards.begin(), status.cards.end(), [&](int card) { return busy_[card] == 0; });
    if (!cards_free) continue;  // cards given to it still finish another lane's chunk
    InFlight chunk;
    chunk.chunk = next_chunk_++;
    chunk.lane = lane;
    chunk.cards = status.cards;
    chunk.from_step = checkpoint_steps_[lane];
    const int64_t target = policy_->NextTargetStep(lane);
    chunk.to_step = chunk.from_step + NextChunkSteps(budget_, measured_.At(lane, static_cast<int>(status.cards.size())),
                                                     chunk.from_step, target);
    chunk.begin_s = Now();
    chunk.last_heard = absl::Now();
    const uint64_t previous = lane_last_chunk_[lane];
    const bool keep = previous != 0 && lane_last_cards_[lane] == status.cards &&
                      std::all_of(status.cards.begin(), status.cards.end(),
                                  [&](int card) { return kept_[card] == previous; });
    config::LanesAssignment order;
    order.set_kind(config::LanesAssignment::RUN);
    order.set_chunk(chunk.chunk);
    order.set_lane(lane);
    for (int card : status.cards) order.add_cards(card);
    order.set_from_step(chunk.from_step);
    order.set_to_step(chunk.to_step);
    order.set_at_target(chunk.to_step == target);
    order.set_keep_trainer(keep);
    const std::string bytes = order.SerializeAsString();
    for (int card : status.cards) {
      if (absl::Status sent = channel_->Send(card, kAssignmentTag, bytes); !sent.ok()) return sent;
      busy_[card] = chunk.chunk;
      kept_[card] = 0;
      last_sent_[card] = absl::Now();
    }
    in_flight_.push_back(std::move(chunk));
  }
  // A free rank's kept trainer can no longer be used (its lane moved on without it): drop it now.
  config::LanesAssignment idle;
  idle.set_kind(config::LanesAssignment::IDLE);
  for (int rank = 0; rank < channel_->size(); ++rank) {
    if (busy_[rank] != 0 || kept_[rank] == 0) continue;
    kept_[rank] = 0;
    last_sent_[rank] = absl::Now();
    if (absl::Status sent = channel_->Send(rank, kAssignmentTag, idle.SerializeAsString()); !sent.ok()) return sent;
  }
  return absl::OkStatus();
}

absl::Status Coordinator::Handle(const ControlMessage& received) {
  config::LanesWorkerMessage message;
  if (!message.ParseFromString(received.bytes)) {
    return absl::DataLossError(absl::StrCat("lanes coordinator: a message of ", received.bytes.size(),
                                            " bytes from rank ", received.source, " that does not parse"));
  }
  auto it = std::find_if(in_flight_.begin(), in_flight_.end(),
                         [&](const InFlight& chunk) { return chunk.chunk == message.chunk(); });
  if (it == in_flight_.end()) {
    return absl::InternalError(absl::StrCat("lanes coordinator: rank ", received.source, " reports chunk ",
                                            message.chunk(), ", which is not in flight"));
  }
  it->last_heard = absl::Now();
  if (message.kind() == config::LanesWorkerMessage::ALIVE) return absl::OkStatus();
  const InFlight chunk = *it;
  in_flight_.erase(it);
  const config::LanesJournalReport& report = message.report();
  if (report.lane() != chunk.lane) {
    return absl::InternalError(absl::StrCat("lanes coordinator: chunk ", chunk.chunk, " of lane ", chunk.lane,
                                            " reported as lane ", report.lane()));
  }
  const bool tick = report.kind() == config::LanesJournalReport::TICK;
  for (int card : chunk.cards) {
    busy_[card] = 0;
    kept_[card] = tick ? chunk.chunk : 0;
  }
  lane_last_chunk_[chunk.lane] = tick ? chunk.chunk : 0;
  lane_last_cards_[chunk.lane] = chunk.cards;
  checkpoint_steps_[chunk.lane] = report.checkpoint_step();
  if (report.kind() != config::LanesJournalReport::FAILURE) last_loss_[chunk.lane] = report.loss();
  config::LanesJournalEvent event;
  *event.add_reports() = report;
  config::LanesJournalRun* run = event.add_runs();
  run->set_lane(chunk.lane);
  for (int card : chunk.cards) run->add_cards(card);
  run->set_from_step(chunk.from_step);
  run->set_to_step(report.step());
  run->set_begin_s(chunk.begin_s);
  run->set_end_s(Now());
  run->set_work_s(message.work_s());
  run->set_restored(message.restored());
  run->set_train_s(message.train_s());
  if (message.has_checkpoint_s() && report.kind() != config::LanesJournalReport::FAILURE) {
    run->set_checkpoint_s(message.checkpoint_s());
    measured_.Record(chunk.lane, static_cast<int>(chunk.cards.size()), report.step() - chunk.from_step,
                     message.train_s(), message.checkpoint_s());
  }
  if (options_.log && report.kind() == config::LanesJournalReport::FAILURE) {
    *options_.log << "  lane " << (*lanes_)[chunk.lane].definition.name << " failed: " << report.reason() << "\n";
  }
  return Record(std::move(event));
}

absl::Status Coordinator::Watch() {
  const absl::Time now = absl::Now();
  for (const InFlight& chunk : in_flight_) {
    if (now - chunk.last_heard > options_.silence_limit) {
      return absl::DeadlineExceededError(absl::StrFormat(
          "lanes coordinator: lane %s (chunk %d, steps %d->%d on cards [%s]) sent nothing for %s; a card of it is "
          "stuck or dead", (*lanes_)[chunk.lane].definition.name, chunk.chunk, chunk.from_step, chunk.to_step,
          absl::StrJoin(chunk.cards, ","), absl::FormatDuration(now - chunk.last_heard)));
    }
  }
  config::LanesAssignment idle;
  idle.set_kind(config::LanesAssignment::IDLE);
  for (int rank = 0; rank < channel_->size(); ++rank) {
    if (busy_[rank] != 0 || now - last_sent_[rank] < options_.heartbeat) continue;
    kept_[rank] = 0;  // the heartbeat drops whatever it kept
    last_sent_[rank] = now;
    if (absl::Status sent = channel_->Send(rank, kAssignmentTag, idle.SerializeAsString()); !sent.ok()) return sent;
  }
  return absl::OkStatus();
}

void Coordinator::PrintTable() const {
  std::ostream& log = *options_.log;
  log << absl::StrFormat("event %d (%.1fs)\n  %-22s %-8s %4s %-10s %6s %9s\n", journal_->events_size() - 1,
                         JournalSeconds(*journal_), "lane", "state", "rung", "cards", "steps", "loss");
  for (int i = 0; i < policy_->lane_count(); ++i) {
    const LaneStatus& status = policy_->status(i);
    log << absl::StrFormat("  %-22s %-8s %4d %-10s %6d %9.4f\n", (*lanes_)[i].definition.name,
                           LaneStateName(status.state), status.target,
                           status.cards.empty() ? "-" : absl::StrCat("[", absl::StrJoin(status.cards, ","), "]"),
                           checkpoint_steps_[i], last_loss_[i]);
  }
  log << std::flush;
}

absl::Status Coordinator::Run() {
  started_ = absl::Now();
  if (options_.log && budget_.checkpoint_budget > 0) {
    *options_.log << absl::StrFormat(
        "kachi lanes: chunks under a checkpoint budget of %g: %d steps until a lane is measured at its width, then "
        "at least %d; %d chunk measurements replayed from the journal\n",
        budget_.checkpoint_budget, budget_.default_steps, budget_.min_steps, replayed_measurements_);
  }
  if (absl::Status status = Record(config::LanesJournalEvent()); !status.ok()) return status;
  while (!(policy_->Done() && in_flight_.empty())) {
    if (in_flight_.empty()) {
      return absl::InternalError(absl::StrCat("lanes coordinator: event ", journal_->events_size() - 1,
                                              ": no lane can run but the policy is not done (a lane cannot fit "
                                              "the pool?)"));
    }
    absl::StatusOr<std::optional<ControlMessage>> message =
        channel_->Poll(ControlChannel::kAnySource, kWorkerTag, absl::Milliseconds(100));
    if (!message.ok()) return message.status();
    if (message->has_value()) {
      if (absl::Status status = Handle(**message); !status.ok()) return status;
    }
    if (absl::Status status = Watch(); !status.ok()) return status;
  }
  if (!journal_->complete()) {  // done without a last event (cannot happen: the last report records one)
    if (absl::Status status = Record(config::LanesJournalEvent()); !status.ok()) return status;
  }
  config::LanesAssignment stop;
  stop.set_kind(config::LanesAssignment::STOP);
  for (int rank = 0; rank < channel_->size(); ++rank) {
    if (absl::Status sent = channel_->Send(rank, kAssignmentTag, stop.SerializeAsString()); !sent.ok()) return sent;
  }
  return absl::OkStatus();
}

}  // namespace kachi::lanes
