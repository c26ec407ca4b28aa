// The lane executor: rounds of Decide -> carve -> train a chunk per lane -> checkpoint -> report -> journal.
#include "launcher/lanes/executor.h"

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "comm/process_grid.h"
#include "launcher/lanes/journal.h"
#include "launcher/lanes/lane_expansion.h"
#include "launcher/lanes/lanes_file.h"
#include "launcher/lanes/policy.h"
#include "launcher/lanes/report.h"
#include "runtime/ckpt/checkpoint_paths.h"
#include "runtime/ckpt/checkpoint_writer.h"
#include "runtime/ckpt/restore.h"
#include "runtime/train/train_config.h"
#include "runtime/train/trainer.h"

namespace kachi::lanes {
namespace {

namespace fs = std::filesystem;

// What one lane's chunk ended with, as broadcast from its first card: kind (a LanesJournalReport::Kind), the step
// reached, the loss (its bits) and a failure code.
enum FailureCode : int64_t { kNoFailure = 0, kNonFiniteLoss = 1, kLaneError = 2 };
struct ChunkOutcome {
  int64_t kind = config::LanesJournalReport::TICK;
  int64_t step = 0;
  double loss = 0;
  int64_t failure = kNoFailure;
};

// One lane as the executor sees it.
struct LaneRuntime {
  LaneDefinition definition;
  config::KachiConfig config;
  LaneSpec spec;
  std::string checkpoint_dir;
  int64_t step = 0;  // its newest checkpoint's step (0: none)
};

// Trains `lane` on this rank's part of `grid` from lane.step to `to_step`; `at_target` when to_step is its next
// rung or max_steps (its loss is then the validation loss when there is validation data). Saves a checkpoint at
// to_step. A non-finite loss or an error ends the chunk as a failure (the error printed to stderr).
ChunkOutcome RunChunk(const LaneRuntime& lane, int64_t max_steps, int64_t to_step, bool at_target, int device,
                      ProcessGrid& grid) {
  ChunkOutcome outcome;
  outcome.step = lane.step;
  auto fail = [&](const absl::Status& status) {
    std::cerr << absl::StrFormat("kachi lanes: rank %d: lane %s at step %d: %s\n", grid.world().rank(),
                                 lane.definition.name, outcome.step, status.message());
    outcome.kind = config::LanesJournalReport::FAILURE;
    outcome.failure = kLaneError;
    return outcome;
  };
  ParallelLayout layout;
  layout.tp = grid.tp_size();
  layout.dp = grid.dp_size();
  absl::StatusOr<TrainOptions> options = TrainOptionsFromConfig(lane.config, layout);
  if (!options.ok()) return fail(options.status());
  options->steps = max_steps;  // the LR schedule spans the lane's whole budget, whatever the chunk
  options->log_every = 0;
  options->metrics_path.clear();
  if (options->kernels == "cuda") {
    if (device < 0) {
      return fail(absl::FailedPreconditionError("train.kernels = \"cuda\" but this rank has no GPU bound"));
    }
    options->device = device;
  }
  absl::StatusOr<std::unique_ptr<Trainer>> trainer = Trainer::Create(*options, &grid);
  if (!trainer.ok()) return fail(trainer.status());
  Trainer& t = **trainer;
  if (lane.step > 0) {
    absl::StatusOr<ckpt::RestoreReport> restored = ckpt::RestoreTrainer(lane.checkpoint_dir, t, grid, nullptr);
    if (!restored.ok()) return fail(restored.status());
    if (restored->step != lane.step) {
      return fail(absl::DataLossError(absl::StrCat("restored step ", restored->step, " from ",
                                                   restored->path, ", expected step ", lane.step)));
    }
  }
  double loss = 0;
  while (t.step() < to_step) {
    absl::StatusOr<StepResult> result = t.Step();
    const bool diverged = !result.ok() && absl::IsDataLoss(result.status()) &&
                          absl::StrContains(result.status().message(), "diverged");  // NaN/Inf gradients
    if (diverged) {
      outcome.kind = config::LanesJournalReport::FAILURE;
      outcome.failure = kNonFiniteLoss;
      outcome.loss = std::nan("");
      return outcome;
    }
    if (!result.ok()) return fail(result.status());
    outcome.step = t.step();
    loss = result->loss;
    if (!std::isfinite(loss)) {
      outcome.kind = config::LanesJournalReport::FAILURE;
      outcome.failure = kNonFiniteLoss;
      outcome.loss = loss;
      return outcome;
    }
  }
  if (at_target && options->eval_windows > 0 && !options->val_pattern.empty()) {
    absl::StatusOr<float> val = t.Evaluate();
    if (!val.ok()) return fail(val.status());
    loss = *val;
  }
  ckpt::CheckpointOptions checkpoint;
  checkpoint.dir = lane.checkpoint_dir;
  checkpoint.async = false;
  checkpoint.retention.keep_last = 2;
  ckpt::CheckpointWriter writer(checkpoint, &grid, &lane.config);
  if (absl::StatusOr<double> saved = writer.Save(t); !saved.ok()) return fail(saved.status());
  if (absl::Status finished = writer.Finish(); !finished.ok()) return fail(finished);
  outcome.kind = at_target ? config::LanesJournalReport::TARGET : config::LanesJournalReport::TICK;
  outcome.loss = loss;
  return outcome;
}

// Broadcasts `outcome` from world rank `root` to every rank.
absl::Status ShareOutcome(Communicator& world, int root, ChunkOutcome* outcome) {
  int64_t words[4] = {outcome->kind, outcome->step, 0, outcome->failure};
  std::memcpy(&words[2], &outcome->loss, sizeof(double));
  if (absl::Status status = world.Broadcast(words, 4, DType::kInt64, root); !status.ok()) return status;
  outcome->kind = words[0];
  outcome->step = words[1];
  std::memcpy(&outcome->loss, &words[2], sizeof(double));
  outcome->failure = words[3];
  return absl::OkStatus();
}

// The reason a failed lane is stopped with.
std::string FailureReason(const ChunkOutcome& outcome) {
  if (outcome.failure == kNonFiniteLoss) {
    return absl::StrFormat("diverged: non-finite loss or gradients after step %d", outcome.step);
  }
  return absl::StrCat("an error on its ranks at step ", outcome.step, " (see their stderr)");
}

// Rank 0's live table: one line per lane.
void PrintTable(std::ostream& log, int round, double seconds, const LanePolicy& policy,
                const std::vector<LaneRuntime>& lanes, const std::vector<double>& last_loss) {
  log << absl::StrFormat("round %d (%.1fs)\n  %-22s %-8s %4s %-10s %6s %9s\n", round, seconds, "lane", "state",
                         "rung", "cards", "steps", "loss");
  for (int i = 0; i < policy.lane_count(); ++i) {
    const LaneStatus& status = policy.status(i);
    log << absl::StrFormat("  %-22s %-8s %4d %-10s %6d %9.4f\n", lanes[i].definition.name,
                           LaneStateName(status.state), status.target,
                           status.cards.empty() ? "-" : absl::StrCat("[", absl::StrJoin(status.cards, ","), "]"),
                           lanes[i].step, last_loss[i]);
  }
}

// The summary of a journal and the policy it left.
ExecutorSummary Summarize(const config::LanesJournal& journal, const LanePolicy& policy,
                          const std::vector<LaneRuntime>& lanes) {
  ExecutorSummary summary;
  summary.best_lane = journal.best_lane();
  summary.best_loss = std::nan("");
  if (summary.best_lane >= 0) {
    summary.best_lane_name = lanes[summary.best_lane].definition.name;
    summary.best_loss = policy.status(summary.best_lane).final_loss;
  }
  summary.utilization = JournalUtilization(journal);
  summary.rounds = journal.rounds_size();
  return summary;
}

// The exit hook's round, or -1.
int ExitAfterRound() {
  const char* value = std::getenv("KACHI_LANES_TEST_EXIT_AFTER_ROUND");
  int round = -1;
  if (value == nullptr || !absl::SimpleAtoi(value, &round)) return -1;
  return round;
}

}  // namespace

absl::StatusOr<ExecutorSummary> RunLanes(const config::LanesFile& file, Communicator& world,
                                         const ExecutorOptions& options) {
  const bool leader = world.rank() == 0;
  std::ostream* log = leader ? options.log : nullptr;
  absl::StatusOr<std::vector<LaneDefinition>> definitions = ExpandLanes(file);
  if (!definitions.ok()) return definitions.status();
  const PoolShape pool = PoolFromFile(file, world.size());
  if (pool.cards > world.size()) {
    return absl::InvalidArgumentError(absl::StrCat("pool.cards is ", pool.cards, " but the job has only ",
                                                   world.size(), " ranks"));
  }
  const PolicyOptions policy_options = PolicyOptionsFromFile(file);
  std::vector<LaneRuntime> lanes;
  std::vector<LaneSpec> specs;
  for (size_t i = 0; i < definitions->size(); ++i) {
    LaneRuntime lane;
    lane.definition = (*definitions)[i];
    absl::StatusOr<config::KachiConfig> config = EffectiveConfig(file, lane.definition);
    if (!config.ok()) return config.status();
    lane.config = *std::move(config);
    absl::StatusOr<LaneSpec> spec = SpecForLane(file, lane.definition);
    if (!spec.ok()) return spec.status();
    lane.spec = *spec;
    lane.checkpoint_dir = (fs::path(options.dir) / absl::StrCat("lane", i)).string();
    specs.push_back(*spec);
    lanes.push_back(std::move(lane));
  }
  absl::StatusOr<LanePolicy> created = LanePolicy::Create(pool, policy_options, specs);
  if (!created.ok()) return created.status();
  LanePolicy& policy = *created;
  const int64_t chunk = options.chunk_steps > 0 ? options.chunk_steps : policy_options.min_steps;
  const std::string journal_path = (fs::path(options.dir) / kJournalFileName).string();
  std::vector<double> last_loss(lanes.size(), std::nan(""));

  config::LanesJournal journal;
  absl::StatusOr<config::LanesJournal> previous = ReadJournal(journal_path);
  if (options.resume && previous.ok()) {
    journal = *std::move(previous);
    const int journal_cards = static_cast<int>(journal.cards());
    if (journal.lane_names_size() != static_cast<int>(lanes.size()) || journal_cards != pool.cards) {
      return absl::FailedPreconditionError(absl::StrCat(
          "--resume: the journal ", journal_path, " has ", journal.lane_names_size(), " lanes on ", journal.cards(),
          " cards; the lanes file now gives ", lanes.size(), " lanes on ", pool.cards, " cards"));
    }
    for (size_t i = 0; i < lanes.size(); ++i) {
      if (journal.lane_names(static_cast<int>(i)) != lanes[i].definition.name) {
        return absl::FailedPreconditionError(absl::StrCat("--resume: lane ", i, " is '",
                                                          journal.lane_names(static_cast<int>(i)),
                                                          "' in the journal but '", lanes[i].definition.name,
                                                          "' in the lanes file"));
      }
    }
    if (absl::Status status = ReplayJournal(journal, &policy); !status.ok()) return status;
    if (journal.complete()) {
      if (log) *log << "kachi lanes: the journal " << journal_path << " is complete already; nothing to resume\n";
      return Summarize(journal, policy, lanes);
    }
    for (const config::LanesJournalRound& round : journal.rounds()) {
      for (const config::LanesJournalReport& report : round.reports()) {
        if (report.kind() == config::LanesJournalReport::FAILURE) continue;
        lanes[report.lane()].step = report.step();
        last_loss[report.lane()] = report.loss();
      }
    }
    // Checkpoints written after the journal's last round (a crash between save and journal) are discarded.
    if (absl::Status agreed = world.Barrier(); !agreed.ok()) return agreed;
    if (leader) {
      for (const LaneRuntime& lane : lanes) {
        for (int64_t step : ckpt::ListStepDirs(lane.checkpoint_dir)) {
          if (step > lane.step) fs::remove_all(ckpt::StepDirPath(lane.checkpoint_dir, step));
        }
      }
      if (log) *log << "kachi lanes: resumed after round " << journal.rounds_size() << " of " << journal_path << "\n";
    }
    if (absl::Status agreed = world.Barrier(); !agreed.ok()) return agreed;
  } else {
    if (options.resume && !absl::IsNotFound(previous.status())) return previous.status();
    if (!options.resume && previous.ok()) {
      return absl::AlreadyExistsError(absl::StrCat("a lanes journal exists at ", journal_path,
                                                   ": continue it with --resume or choose another directory"));
    }
    for (const LaneRuntime& lane : lanes) {  // a fresh run must not restore another run's checkpoints
      if (!ckpt::ListStepDirs(lane.checkpoint_dir).empty()) {
        return absl::AlreadyExistsError(absl::StrCat(lane.checkpoint_dir, " holds checkpoints but ", journal_path,
                                                     " no journal: choose an empty directory"));
      }
    }
    if (leader) {
      std::error_code error;
      fs::create_directories(options.dir, error);
    }
    for (const LaneRuntime& lane : lanes) journal.add_lane_names(lane.definition.name);
    journal.set_cards(pool.cards);
  }
  if (absl::Status agreed = world.Barrier(); !agreed.ok()) return agreed;

  const int exit_after = ExitAfterRound();
  const int my_card = world.rank() < pool.cards ? world.rank() : -1;
  while (true) {
    const auto round_begin = std::chrono::steady_clock::now();
    const int round_index = journal.rounds_size();
    config::LanesJournalRound round;
    round.set_index(round_index);
    for (const Decision& decision : policy.Decide()) {
      *round.add_decisions() = DecisionToJournal(decision);
      if (log) *log << "  " << DescribeDecision(decision, lanes[decision.lane].definition.name) << "\n";
    }
    // Lanes holding cards this round, in lane order, with their chunk's end.
    std::vector<int> running;
    int my_lane = -1;
    for (int i = 0; i < policy.lane_count(); ++i) {
      const LaneStatus& status = policy.status(i);
      if (status.cards.empty()) continue;
      running.push_back(i);
      for (int card : status.cards) {
        if (card == my_card) my_lane = i;
      }
    }
    if (running.empty()) {
      if (!policy.Done()) {
        return absl::InternalError(absl::StrCat("round ", round_index, ": no lane holds cards but the policy is "
                                                "not done (a lane cannot fit the pool?)"));
      }
      journal.set_complete(true);
      std::optional<int> best = policy.BestLane();
      journal.set_best_lane(best.has_value() ? *best : -1);
      *journal.add_rounds() = round;
      if (leader) {
        if (absl::Status status = WriteJournal(journal_path, journal); !status.ok()) return status;
      }
      break;
    }
    absl::StatusOr<std::unique_ptr<ProcessGrid>> grid = ProcessGrid::Carve(
        world, my_lane, my_lane >= 0 ? lanes[my_lane].spec.tp : 1, pool.CardsPerNode());
    if (!grid.ok()) return grid.status();
    std::vector<ChunkOutcome> outcomes(lanes.size());
    if (my_lane >= 0) {
      LaneRuntime& lane = lanes[my_lane];
      const int64_t target = policy.Targets()[policy.status(my_lane).target];
      const int64_t to_step = std::min(target, lane.step + chunk);
      outcomes[my_lane] = RunChunk(lane, policy_options.max_steps, to_step, to_step == target, options.device,
                                  **grid);
      // The lane's ranks agree on failure (one rank's error fails the lane even where its peers finished).
      int64_t failure = outcomes[my_lane].failure;
      if ((*grid)->world().AllReduce(&failure, &failure, 1, DType::kInt64, ReduceOp::kMax).ok() &&
          failure != kNoFailure && outcomes[my_lane].failure == kNoFailure) {
        outcomes[my_lane].kind = config::LanesJournalReport::FAILURE;
        outcomes[my_lane].failure = failure;
      }
    }
    grid->reset();
    const double now_s = static_cast<double>(round_index) + 1;
    std::vector<LaneProgress> progress;
    for (int lane : running) {
      const LaneStatus& status = policy.status(lane);
      int root = status.cards.front();
      for (int card : status.cards) root = std::min(root, card);
      if (absl::Status status_shared = ShareOutcome(world, root, &outcomes[lane]); !status_shared.ok()) {
        return status_shared;
      }
      const ChunkOutcome& outcome = outcomes[lane];
      config::LanesJournalRun* run = round.add_runs();
      run->set_lane(lane);
      for (int card : status.cards) run->add_cards(card);
      run->set_from_step(lanes[lane].step);
      run->set_to_step(outcome.step);
      config::LanesJournalReport* report = round.add_reports();
      report->set_lane(lane);
      report->set_kind(static_cast<config::LanesJournalReport::Kind>(outcome.kind));
      report->set_step(outcome.step);
      report->set_loss(outcome.loss);
      if (outcome.kind == config::LanesJournalReport::FAILURE) {
        report->set_reason(FailureReason(outcome));
        if (absl::Status st = policy.OnFailure(lane, report->reason(), now_s); !st.ok()) return st;
        continue;
      }
      lanes[lane].step = outcome.step;
      last_loss[lane] = outcome.loss;
      if (outcome.kind == config::LanesJournalReport::TARGET) {
        if (absl::Status st = policy.OnRungReached(lane, outcome.step, outcome.loss, now_s); !st.ok()) return st;
      } else {
        progress.push_back({lane, outcome.step, outcome.loss});
      }
    }
    if (absl::Status st = policy.OnTick(now_s, progress); !st.ok()) return st;
    // Every rank measured the round; rank 0's duration is the journal's.
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - round_begin).count();
    round.set_seconds(seconds);
    *journal.add_rounds() = round;
    if (leader) {
      if (absl::Status status = WriteJournal(journal_path, journal); !status.ok()) return status;
      if (log) PrintTable(*log, round_index, seconds, policy, lanes, last_loss);
    }
    if (absl::Status agreed = world.Barrier(); !agreed.ok()) return agreed;
    if (round_index == exit_after) {
      if (log) *log << "kachi lanes: test hook: exiting after round " << round_index << "\n" << std::flush;
      std::_Exit(3);
    }
  }
  if (leader) {
    std::vector<std::string> statuses;
    for (int i = 0; i < policy.lane_count(); ++i) statuses.push_back(LaneStateName(policy.status(i).state));
    const std::string report_path = (fs::path(options.dir) / "lanes_report.html").string();
    absl::Status written =
        WriteLanesReport(ReportDataFromJournal(journal, "kachi lanes: " + options.dir, statuses), report_path);
    if (log) *log << "kachi lanes: report " << (written.ok() ? report_path : std::string(written.message())) << "\n";
  }
  return Summarize(journal, policy, lanes);
}

}  // namespace kachi::lanes
