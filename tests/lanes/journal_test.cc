// The lanes journal: a policy driven round by round with seeded random losses and round times is journaled the way
// the executor does it; the journal survives a write/read, replays into a fresh policy that then decides exactly
// what the original decided (the resume path), rejects a tampered decision, and yields the utilization computed
// independently from the driver's card-seconds.
#include "launcher/lanes/journal.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include <unistd.h>

#include "gtest/gtest.h"

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

// Drives `rounds` rounds (or until done) as the executor does: Decide, every lane holding cards advances at most
// `chunk` steps toward its next target, then reports (a rung with a random loss, a tick, or for lane 6 a failure).
Driven Drive(int rounds, uint32_t seed) {
  Driven driven{MakePolicy(), {}, 0, 0};
  LanePolicy& policy = driven.policy;
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> loss(2.0, 6.0);
  std::uniform_real_distribution<double> seconds(0.5, 3.0);
  std::vector<int64_t> step(policy.lane_count(), 0);
  const int64_t chunk = 4;
  driven.journal.set_cards(4);
  for (int i = 0; i < policy.lane_count(); ++i) driven.journal.add_lane_names(policy.specs()[i].name);
  for (int r = 0; r < rounds; ++r) {
    config::LanesJournalRound* round = driven.journal.add_rounds();
    round->set_index(r);
    for (const Decision& decision : policy.Decide()) *round->add_decisions() = DecisionToJournal(decision);
    if (policy.Done()) break;
    round->set_seconds(seconds(rng));
    const double now_s = r + 1;
    std::vector<LaneProgress> progress;
    for (int lane = 0; lane < policy.lane_count(); ++lane) {
      const LaneStatus& status = policy.status(lane);
      if (status.cards.empty()) continue;
      config::LanesJournalRun* run = round->add_runs();
      run->set_lane(lane);
      for (int card : status.cards) run->add_cards(card);
      driven.held_card_seconds += status.cards.size() * round->seconds();
      const int64_t target = policy.Targets()[status.target];
      const int64_t to = std::min(target, step[lane] + chunk);
      config::LanesJournalReport* report = round->add_reports();
      report->set_lane(lane);
      report->set_step(to);
      report->set_loss(loss(rng));
      if (lane == 6) {  // lane 6 diverges in its first chunk
        report->set_kind(config::LanesJournalReport::FAILURE);
        report->set_reason("diverged");
        EXPECT_TRUE(policy.OnFailure(lane, "diverged", now_s).ok());
        continue;
      }
      step[lane] = to;
      if (to == target) {
        report->set_kind(config::LanesJournalReport::TARGET);
        EXPECT_TRUE(policy.OnRungReached(lane, to, report->loss(), now_s).ok());
      } else {
        report->set_kind(config::LanesJournalReport::TICK);
        progress.push_back({lane, to, report->loss()});
      }
    }
    EXPECT_TRUE(policy.OnTick(now_s, progress).ok());
    driven.total_card_seconds += 4 * round->seconds();
  }
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

// The resume path: a journal cut after any round replays into a fresh policy that then decides what the original
// run decided next, and ends the run the same way.
TEST(JournalTest, ReplayContinuesLikeTheOriginal) {
  for (uint32_t seed : {1u, 2u, 3u}) {
    Driven full = Drive(200, seed);
    ASSERT_TRUE(full.policy.Done()) << "seed " << seed;
    const int rounds = full.journal.rounds_size();
    ASSERT_GT(rounds, 4);
    for (int cut = 1; cut < rounds; ++cut) {
      config::LanesJournal prefix = full.journal;
      prefix.mutable_rounds()->DeleteSubrange(cut, rounds - cut);
      LanePolicy replayed = MakePolicy();
      ASSERT_TRUE(ReplayJournal(prefix, &replayed).ok()) << "seed " << seed << " cut " << cut;
      std::vector<Decision> next = replayed.Decide();
      ASSERT_EQ(static_cast<int>(next.size()), full.journal.rounds(cut).decisions_size());
      for (size_t i = 0; i < next.size(); ++i) {
        EXPECT_EQ(DecisionToJournal(next[i]).SerializeAsString(),
                  full.journal.rounds(cut).decisions(static_cast<int>(i)).SerializeAsString())
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
  Driven driven = Drive(8, 7);
  config::LanesJournal tampered = driven.journal;
  config::LanesJournalDecision* decision = tampered.mutable_rounds(2)->mutable_decisions(0);
  decision->set_lane((decision->lane() + 1) % 7);
  LanePolicy replayed = MakePolicy();
  absl::Status status = ReplayJournal(tampered, &replayed);
  EXPECT_TRUE(absl::IsDataLoss(status)) << status;
  EXPECT_NE(status.message().find("round 2"), std::string::npos) << status;
}

TEST(JournalTest, UtilizationIsHeldOverTotalCardSeconds) {
  Driven driven = Drive(200, 9);
  ASSERT_GT(driven.total_card_seconds, 0);
  EXPECT_NEAR(JournalUtilization(driven.journal), driven.held_card_seconds / driven.total_card_seconds, 1e-12);
  EXPECT_EQ(JournalUtilization(config::LanesJournal()), 0);
}

TEST(JournalTest, FormatAndReportDataCoverEveryEntry) {
  Driven driven = Drive(200, 13);
  const std::string text = FormatJournal(driven.journal);
  int decisions = 0, runs = 0, reports = 0;
  for (const auto& round : driven.journal.rounds()) {
    decisions += round.decisions_size();
    runs += round.runs_size();
    reports += round.reports_size();
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
  for (const auto& round : driven.journal.rounds()) {
    for (const auto& run : round.runs()) card_spans += run.cards_size();
  }
  EXPECT_EQ(data.intervals.size(), card_spans);
  EXPECT_GT(data.total_seconds, 0);
}

}  // namespace
}  // namespace kachi::lanes
