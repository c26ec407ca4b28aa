// `kachi lanes --resume` on a smaller pool (launcher/lanes/journal_repool.h, LanePolicy::Repool): a policy on 4
// nodes of 2 cards is driven the way the coordinator does (seeded random losses and chunk times, tp 1 and tp 2
// lanes), "loses a host" after a random number of events, and resumes from its journal on 3 nodes: states and
// checkpoints are kept, the run completes with every gang inside a node of the new pool, the whole journal
// replays again (a second resume), and a tampered repool or a pool the lanes do not fit is refused.
#include "launcher/lanes/journal_repool.h"

#include <algorithm>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "launcher/lanes/journal.h"
#include "tests/lanes/chunk_flight.h"

namespace kachi::lanes {
namespace {

constexpr int kCardsPerNode = 2;

PolicyOptions Options() {
  PolicyOptions options;
  options.max_steps = 36;
  options.min_steps = 4;
  options.eta = 3;
  options.widen_min_remaining_steps = 2;
  return options;
}

std::vector<LaneSpec> Specs() {
  std::vector<LaneSpec> lanes(7);
  for (size_t i = 0; i < lanes.size(); ++i) {
    lanes[i].name = "lane" + std::to_string(i);
    lanes[i].tp = i % 3 == 0 ? 2 : 1;  // lanes 0, 3, 6: one tp=2 gang per replica
    lanes[i].batch_units = 4;
  }
  return lanes;
}

// One session of the coordinator on `cards` cards (coordinator.h): an opening event, then chunks of at most 4
// steps lasting a random 0.5 to 3 s, the first to end reported (a rung, a tick, or a failure for lane 5 past step
// 8) and fed to the policy, until the policy is done or the session has recorded `max_events` events. `steps` are
// the lanes' journaled checkpoint steps (where a chunk starts); `now` the clock. Checks every gang it dispatches.
void DriveSession(LanePolicy& policy, config::LanesJournal& journal, std::vector<int64_t>& steps, int cards,
                  int max_events, std::mt19937& rng, double& now) {
  std::uniform_real_distribution<double> loss(2.0, 6.0);
  std::uniform_real_distribution<double> seconds(0.5, 3.0);
  std::vector<ChunkFlight> flights;
  std::vector<bool> busy(cards, false);
  const int session = journal.events_size() == 0 ? 0 : journal.events(journal.events_size() - 1).session() + 1;
  int recorded = 0;
  auto dispatch = [&] {
    for (int lane = 0; lane < policy.lane_count(); ++lane) {
      const LaneStatus& status = policy.status(lane);
      if (status.state != LaneState::kRunning) continue;
      if (std::any_of(flights.begin(), flights.end(), [&](const ChunkFlight& f) { return f.lane == lane; })) continue;
      const int tp = policy.specs()[lane].tp;
      ASSERT_EQ(status.cards.size() % tp, 0u);
      for (size_t g = 0; g < status.cards.size(); g += tp) {
        for (int i = 0; i < tp; ++i) {
          ASSERT_LT(status.cards[g + i], cards) << "lane " << lane << " on a card outside the pool";
          EXPECT_EQ(status.cards[g + i] / kCardsPerNode, status.cards[g] / kCardsPerNode)
              << "lane " << lane << "'s tp gang straddles nodes";
        }
      }
      if (std::any_of(status.cards.begin(), status.cards.end(), [&](int c) { return busy[c]; })) continue;
      const int64_t target = policy.Targets()[status.target];
      flights.push_back({lane, status.cards, steps[lane], std::min(target, steps[lane] + 4), now, now + seconds(rng)});
      for (int card : status.cards) busy[card] = true;
    }
  };
  auto record = [&](config::LanesJournalEvent event) {
    event.set_index(journal.events_size());
    event.set_session(session);
    event.set_time_s(now);
    EXPECT_TRUE(FeedEventReports(event, &policy).ok());
    for (const Decision& decision : policy.Decide()) *event.add_decisions() = DecisionToJournal(decision);
    *journal.add_events() = event;
    ++recorded;
    dispatch();
  };
  record({});
  while (!(policy.Done() && flights.empty()) && recorded < max_events) {
    ASSERT_FALSE(flights.empty());
    const ChunkFlight flight = TakeFirstToEnd(flights);
    now = flight.end;
    for (int card : flight.cards) busy[card] = false;
    const bool diverged = flight.lane == 5 && flight.from >= 8;
    if (!diverged) steps[flight.lane] = flight.to;
    record(FinishedChunkEvent(flight, loss(rng), diverged, policy));
  }
  if (policy.Done() && flights.empty()) journal.set_complete(true);
}

TEST(LanesRepoolTest, HostLossResumesOnTheCardsLeftKeepingEveryLanesState) {
  int resumed_runs = 0;
  int running_at_loss = 0;
  for (uint32_t seed = 1; seed <= 40; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 rng(seed);
    absl::StatusOr<LanePolicy> first = LanePolicy::Create({8, kCardsPerNode}, Options(), Specs());
    ASSERT_TRUE(first.ok()) << first.status();
    config::LanesJournal journal;
    journal.set_cards(8);
    for (const LaneSpec& spec : Specs()) journal.add_lane_names(spec.name);
    std::vector<int64_t> steps(Specs().size(), 0);
    double now = 0;
    const int crash_after = 2 + static_cast<int>(rng() % 25);
    DriveSession(*first, journal, steps, 8, crash_after, rng, now);
    if (journal.complete()) continue;  // done before the host was lost
    // Host 4 (cards 6, 7) is lost: the chunks in flight are lost with the job; the journal is what is left.
    const int events_before = journal.events_size();
    absl::StatusOr<LanePolicy> resumed = ReplayJournalOnPool(&journal, {6, kCardsPerNode}, Options(), Specs(), nullptr);
    ASSERT_TRUE(resumed.ok()) << resumed.status();
    ASSERT_EQ(journal.repools_size(), 1);
    EXPECT_EQ(journal.repools(0).first_event(), static_cast<uint32_t>(events_before));
    EXPECT_EQ(journal.repools(0).cards(), 6u);
    EXPECT_EQ(resumed->pool().shape().cards, 6);
    for (int lane = 0; lane < resumed->lane_count(); ++lane) {
      const LaneStatus& before = first->status(lane);
      const LaneStatus& after = resumed->status(lane);
      EXPECT_EQ(after.state, before.state == LaneState::kRunning ? LaneState::kWaiting : before.state) << lane;
      EXPECT_EQ(after.checkpoint_step, before.checkpoint_step) << lane;
      EXPECT_EQ(after.target, before.target) << lane;
      EXPECT_TRUE(after.cards.empty()) << lane;
    }
    // The run goes on from the journaled checkpoints on 3 nodes and completes.
    ++resumed_runs;
    for (int lane = 0; lane < first->lane_count(); ++lane) running_at_loss += first->status(lane).state == LaneState::kRunning;
    const std::vector<int64_t> resumed_from = steps;
    DriveSession(*resumed, journal, steps, 6, 1000, rng, now);
    ASSERT_TRUE(journal.complete());
    for (int e = events_before; e < journal.events_size(); ++e) {
      EXPECT_EQ(journal.events(e).session(), journal.events(events_before).session());
      for (const config::LanesJournalRun& run : journal.events(e).runs()) {
        for (int card : run.cards()) EXPECT_LT(card, 6);
      }
    }
    for (size_t lane = 0; lane < steps.size(); ++lane) EXPECT_GE(steps[lane], resumed_from[lane]);
    // Utilization counts 8 cards until the loss and 6 after it.
    double held = 0;
    for (const config::LanesJournalEvent& event : journal.events()) {
      for (const config::LanesJournalRun& run : event.runs()) held += run.cards_size() * (run.end_s() - run.begin_s());
    }
    const double lost_at = journal.events(events_before - 1).time_s();
    const double pool_seconds = 8 * lost_at + 6 * (JournalSeconds(journal) - lost_at);
    EXPECT_NEAR(JournalUtilization(journal), held / pool_seconds, 1e-9);
    EXPECT_LE(JournalUtilization(journal), 1.0 + 1e-9);
    // A later resume replays both sessions on their pools and appends nothing.
    config::LanesJournal again = journal;
    absl::StatusOr<LanePolicy> replayed = ReplayJournalOnPool(&again, {6, kCardsPerNode}, Options(), Specs(), nullptr);
    ASSERT_TRUE(replayed.ok()) << replayed.status();
    EXPECT_EQ(again.repools_size(), 1);
    for (int lane = 0; lane < replayed->lane_count(); ++lane) {
      EXPECT_EQ(replayed->status(lane).state, resumed->status(lane).state) << lane;
    }
    // A journal whose pool change is moved replays to other decisions: refused.
    config::LanesJournal tampered = journal;
    tampered.mutable_repools(0)->set_first_event(events_before + 1);
    EXPECT_FALSE(ReplayJournalOnPool(&tampered, {6, kCardsPerNode}, Options(), Specs(), nullptr).ok());
  }
  EXPECT_GE(resumed_runs, 20);     // most seeds lose the host mid-run
  EXPECT_GE(running_at_loss, 40);  // with lanes running at the loss
  std::printf("%d of 40 runs resumed on 6 cards, %d lanes running at the loss\n", resumed_runs, running_at_loss);
}

TEST(LanesRepoolTest, APoolTheLanesDoNotFitIsRefused) {
  std::mt19937 rng(7);
  absl::StatusOr<LanePolicy> first = LanePolicy::Create({8, kCardsPerNode}, Options(), Specs());
  ASSERT_TRUE(first.ok());
  config::LanesJournal journal;
  journal.set_cards(8);
  std::vector<int64_t> steps(Specs().size(), 0);
  double now = 0;
  DriveSession(*first, journal, steps, 8, 5, rng, now);
  // One card per node: the tp=2 lanes fit no node.
  absl::StatusOr<LanePolicy> resumed = ReplayJournalOnPool(&journal, {6, 1}, Options(), Specs(), nullptr);
  EXPECT_TRUE(absl::IsInvalidArgument(resumed.status())) << resumed.status();
  EXPECT_EQ(journal.repools_size(), 0);
}

}  // namespace
}  // namespace kachi::lanes
