// The lanes journal: a policy driven event by event with seeded random losses and chunk times is journaled the way
// the coordinator does it; the journal survives a write/read, replays into a fresh policy that then decides exactly
// what the original decided (the resume path), rejects a tampered decision, and yields the utilization computed
// independently from the driver's card-seconds. A chunk's TICK at its checkpoint lets the policy cut a lane
// (predict_cut), and the cut replays.
#include "launcher/lanes/journal.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/lanes/chunk_flight.h"

namespace kachi::lanes {
namespace {

// A policy and the journal of the rounds driven so far, with the card-seconds the driver counted.
struct Driven {
  LanePolicy policy;
  config::LanesJournal journal;
  double held_card_seconds = 0;
  double total_card_seconds = 0;
};

LanePolicy MakePolicy() {
  PoolShape pool{4, 0};
  PolicyOptions options;
  options.max_steps = 36;
  options.min_steps = 4;
  options.eta = 3;
  options.widen_min_remaining_steps = 2;
  std::vector<LaneSpec> lanes(7);
  for (size_t i = 0; i < lanes.size(); ++i) {
    lanes[i].name = "lane" + std::to_string(i);
    lanes[i].batch_units = 4;
  }
  absl::StatusOr<LanePolicy> policy = LanePolicy::Create(pool, options, lanes);
  EXPECT_TRUE(policy.ok()) << policy.status();
  return *std::move(policy);
}

// Drives the policy the way the coordinator does (coordinator.h), for at most `max_events` events: every running
// lane whose cards are all free gets a chunk of at most 4 steps toward its next target lasting a random 0.5 to 3
// seconds; the chunk ending first is reported (a rung with a random loss, a tick, or for lane 6 a failure) as the
// next event, fed to the policy at its end time, then Decide() and the next dispatch.
Driven Drive(int max_events, uint32_t seed) {
  Driven driven{MakePolicy(), {}, 0, 0};
  LanePolicy& policy = driven.policy;
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> loss(2.0, 6.0);
  std::uniform_real_distribution<double> seconds(0.5, 3.0);
  std::vector<ChunkFlight> flights;
  std::vector<int64_t> step(policy.lane_count(), 0);
  std::vector<bool> busy(4, false);
  double now = 0;
  driven.journal.set_cards(4);
  for (int i = 0; i < policy.lane_count(); ++i) driven.journal.add_lane_names(policy.specs()[i].name);
  auto dispatch = [&] {
    for (int lane = 0; lane < policy.lane_count(); ++lane) {
      const LaneStatus& status = policy.status(lane);
      if (status.state != LaneState::kRunning) continue;
      if (std::any_of(flights.begin(), flights.end(), [&](const ChunkFlight& f) { return f.lane == lane; })) continue;
      if (std::any_of(status.cards.begin(), status.cards.end(), [&](int c) { return busy[c]; })) continue;
      const int64_t target = policy.Targets()[status.target];
      flights.push_back({lane, status.cards, step[lane], std::min(target, step[lane] + 4), now, now + seconds(rng)});
      for (int card : status.cards) busy[card] = true;
    }
  };
  auto record = [&](config::LanesJournalEvent event) {
    event.set_index(driven.journal.events_size());
    event.set_time_s(now);
    EXPECT_TRUE(FeedEventReports(event, &policy).ok());
    for (const Decision& decision : policy.Decide()) *event.add_decisions() = DecisionToJournal(decision);
    *driven.journal.add_events() = event;
    dispatch();
  };
  record({});
  while (!(policy.Done() && flights.empty()) && driven.journal.events_size() < max_events) {
    EXPECT_FALSE(flights.empty());
    if (flights.empty()) break;
    const ChunkFlight flight = TakeFirstToEnd(flights);
    now = flight.end;
    for (int card : flight.cards) busy[card] = false;
    driven.held_card_seconds += flight.cards.size() * (flight.end - flight.begin);
    const bool diverged = flight.lane == 6;  // lane 6 diverges in its first chunk
    if (!diverged) step[flight.lane] = flight.to;
    record(FinishedChunkEvent(flight, loss(rng), diverged, policy));
  }
  driven.total_card_seconds = 4 * now;
  return driven;
}

std::string TempPath(const std::string& name) {
  return (std::filesystem::temp_directory_path() / (name + "_" + std::to_string(::getpid()))).string();
}

TEST(JournalTest, WriteReadRoundTrip) {
  Driven driven = Drive(6, 11);
  const std::string path = TempPath("kachi_journal_roundtrip.pb");
  ASSERT_TRUE(WriteJournal(path, driven.journal).ok());
  absl::StatusOr<config::LanesJournal> read = ReadJournal(path);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->SerializeAsString(), driven.journal.SerializeAsString());
  std::filesystem::remove(path);
  EXPECT_TRUE(absl::IsNotFound(ReadJournal(path).status()));
}

TEST(JournalTest, GarbageIsDataLoss) {
  const std::string path = TempPath("kachi_journal_garbage.pb");
  std::mt19937 rng(5);
  std::string bytes(64, '\0');
  for (char& c : bytes) c = static_cast<char>(rng() | 0x80);  // every byte continues a varint: no valid tag
  FILE* f = std::fopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  std::fwrite(bytes.data(), 1, bytes.size(), f);
  std::fclose(f);
  EXPECT_TRUE(absl::IsDataLoss(ReadJournal(path).status()));
  std::filesystem::remove(path);
}

// The resume path: a journal cut after any event replays into a fresh policy that, fed the original's next
// reports, decides what the original run decided, and ends the run the same way.
TEST(JournalTest, ReplayContinuesLikeTheOriginal) {
  for (uint32_t seed : {1u, 2u, 3u}) {
    Driven full = Drive(400, seed);
    ASSERT_TRUE(full.policy.Done()) << "seed " << seed;
    const int events = full.journal.events_size();
    ASSERT_GT(events, 10);
    for (int cut = 1; cut < events; ++cut) {
      config::LanesJournal prefix = full.journal;
      prefix.mutable_events()->DeleteSubrange(cut, events - cut);
      LanePolicy replayed = MakePolicy();
      ASSERT_TRUE(ReplayJournal(prefix, &replayed).ok()) << "seed " << seed << " cut " << cut;
      ASSERT_TRUE(FeedEventReports(full.journal.events(cut), &replayed).ok());
      std::vector<Decision> next = replayed.Decide();
      ASSERT_EQ(static_cast<int>(next.size()), full.journal.events(cut).decisions_size());
      for (size_t i = 0; i < next.size(); ++i) {
        EXPECT_EQ(DecisionToJournal(next[i]).SerializeAsString(),
                  full.journal.events(cut).decisions(static_cast<int>(i)).SerializeAsString())
            << "seed " << seed << " cut " << cut << " decision " << i;
      }
    }
    LanePolicy whole = MakePolicy();
    ASSERT_TRUE(ReplayJournal(full.journal, &whole).ok());
    EXPECT_TRUE(whole.Done());
    EXPECT_EQ(whole.BestLane(), full.policy.BestLane());
    for (int lane = 0; lane < whole.lane_count(); ++lane) {
      EXPECT_EQ(whole.status(lane).state, full.policy.status(lane).state) << "lane " << lane;
    }
    EXPECT_EQ(full.policy.status(6).state, LaneState::kStopped);
  }
}

TEST(JournalTest, ReplayRejectsATamperedDecision) {
  Driven driven = Drive(12, 7);
  config::LanesJournal tampered = driven.journal;
  int event = 2;
  while (event < tampered.events_size() && tampered.events(event).decisions_size() == 0) ++event;
  ASSERT_LT(event, tampered.events_size());
  config::LanesJournalDecision* decision = tampered.mutable_events(event)->mutable_decisions(0);
  decision->set_lane((decision->lane() + 1) % 7);
  LanePolicy replayed = MakePolicy();
  absl::Status status = ReplayJournal(tampered, &replayed);
  EXPECT_TRUE(absl::IsDataLoss(status)) << status;
  EXPECT_NE(status.message().find(absl::StrCat("event ", event)), std::string::npos) << status;
}

// A report the policy cannot take (a rung for a lane that is not running) is DataLoss on replay.
TEST(JournalTest, ReplayRejectsAnImpossibleReport) {
  Driven driven = Drive(12, 7);
  config::LanesJournal tampered = driven.journal;
  config::LanesJournalReport* report = tampered.mutable_events(1)->mutable_reports(0);
  report->set_kind(config::LanesJournalReport::TARGET);
  report->set_step(report->step() + 1000);
  LanePolicy replayed = MakePolicy();
  absl::Status status = ReplayJournal(tampered, &replayed);
  EXPECT_TRUE(absl::IsDataLoss(status)) << status;
}

TEST(JournalTest, UtilizationIsHeldOverTotalCardSeconds) {
  Driven driven = Drive(400, 9);
  ASSERT_GT(driven.total_card_seconds, 0);
  EXPECT_NEAR(JournalSeconds(driven.journal), driven.total_card_seconds / 4, 1e-12);
  EXPECT_NEAR(JournalUtilization(driven.journal), driven.held_card_seconds / driven.total_card_seconds, 1e-12);
  EXPECT_EQ(JournalUtilization(config::LanesJournal()), 0);
}

TEST(JournalTest, FormatAndReportDataCoverEveryEntry) {
  Driven driven = Drive(400, 13);
  const std::string text = FormatJournal(driven.journal);
  int decisions = 0, runs = 0, reports = 0;
  for (const auto& event : driven.journal.events()) {
    decisions += event.decisions_size();
    runs += event.runs_size();
    reports += event.reports_size();
  }
  auto count = [&](const std::string& word) {
    int n = 0;
    for (size_t at = text.find(word); at != std::string::npos; at = text.find(word, at + 1)) ++n;
    return n;
  };
  EXPECT_EQ(count(" decision "), decisions);
  EXPECT_EQ(count(" run lane "), runs);
  EXPECT_EQ(count(" report "), reports);
  LanesReportData data = ReportDataFromJournal(driven.journal, "t", {});
  EXPECT_EQ(static_cast<int>(data.lanes.size()), 7);
  size_t card_spans = 0;
  for (const auto& event : driven.journal.events()) {
    for (const auto& run : event.runs()) card_spans += run.cards_size();
  }
  EXPECT_EQ(data.intervals.size(), card_spans);
  EXPECT_EQ(count(" at "), driven.journal.events_size());
  EXPECT_GT(data.total_seconds, 0);
}

TEST(JournalTest, ATickAtItsCheckpointCutsALaneAndTheCutReplays) {
  // 2 lanes on 2 cards, rungs at 100 and 300 below 900; lane 0 heads for ~2.2 (1.8 + 12 t^-0.5), lane 1 for ~3.5
  // (3.5 + t^-0.5), with noise of sd 0.002 (fresh each run). Each chunk's end is its own event with a TICK report
  // (checkpoint_step = step, as chunk_runner/worker write it). Once both have 4 points, lane 1 is cut at its tick.
  auto make = [] {
    PolicyOptions options;
    options.max_steps = 900;
    options.min_steps = 100;
    options.widen = false;
    options.predict_cut_min_points = 4;
    std::vector<LaneSpec> lanes(2);
    return *LanePolicy::Create(PoolShape{2, 2}, options, lanes);
  };
  std::mt19937 rng(std::random_device{}());
  std::normal_distribution<double> noise(0.0, 0.002);
  LanePolicy policy = make();
  config::LanesJournal journal;
  journal.set_cards(2);
  auto record = [&](config::LanesJournalEvent event, double now) {
    event.set_index(journal.events_size());
    event.set_time_s(now);
    EXPECT_TRUE(FeedEventReports(event, &policy).ok());
    for (const Decision& decision : policy.Decide()) *event.add_decisions() = DecisionToJournal(decision);
    *journal.add_events() = event;
  };
  record({}, 0);
  int cut_at = -1;
  double now = 0;
  for (int64_t step : {20, 40, 60, 80}) {
    for (int lane = 0; lane < 2; ++lane) {
      if (policy.status(lane).state != LaneState::kRunning) continue;
      config::LanesJournalEvent event;
      config::LanesJournalReport* report = event.add_reports();
      report->set_kind(config::LanesJournalReport::TICK);
      report->set_lane(lane);
      report->set_step(step);
      report->set_checkpoint_step(step);
      report->set_loss((lane == 0 ? 1.8 + 12 / std::sqrt(step) : 3.5 + 1 / std::sqrt(step)) + noise(rng));
      record(event, now += 1);
      const auto& last = journal.events(journal.events_size() - 1);
      for (const config::LanesJournalDecision& d : last.decisions()) {
        if (d.kind() == "pause" && d.reason() == "cut") {
          EXPECT_EQ(d.lane(), 1);
          EXPECT_EQ(d.step(), step);
          cut_at = static_cast<int>(step);
        }
      }
    }
  }
  EXPECT_EQ(cut_at, 80) << "cut at its first tick with 4 points on both lanes";
  EXPECT_EQ(policy.status(1).state, LaneState::kPaused);
  EXPECT_EQ(policy.status(1).checkpoint_step, 80);
  EXPECT_EQ(policy.status(0).state, LaneState::kRunning);
  LanePolicy replayed = make();
  ASSERT_TRUE(ReplayJournal(journal, &replayed).ok());
  EXPECT_EQ(replayed.status(1).state, LaneState::kPaused);
  EXPECT_EQ(replayed.status(1).checkpoint_step, 80);
}

}  // namespace
}  // namespace kachi::lanes
