// ChunkRunner (see chunk_runner.h): grid, trainer and restore (or the kept ones), steps, checkpoint, agreement.
#include "launcher/lanes/chunk_runner.h"

#include <chrono>
#include <cmath>
#include <iostream>
#include <thread>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "comm/member_grid.h"
#include "runtime/ckpt/checkpoint_writer.h"
#include "runtime/ckpt/restore.h"
#include "runtime/train/train_config.h"

namespace kachi::lanes {

namespace {
using Clock = std::chrono::steady_clock;
// How often the first member tells the coordinator a long chunk is alive.
constexpr auto kAliveEvery = std::chrono::seconds(2);
}  // namespace

struct ChunkRunner::Kept {
  int lane = -1;
  std::vector<int> cards;
  // The grid outlives the trainer that points to it (members are destroyed in reverse order).
  std::unique_ptr<ProcessGrid> grid;
  std::unique_ptr<Trainer> trainer;
  int64_t eval_windows = 0;
  bool has_val = false;
};

ChunkRunner::ChunkRunner(ChunkRunnerOptions options, const std::vector<LaneRuntime>* lanes)
    : options_(std::move(options)), lanes_(lanes) {}

ChunkRunner::~ChunkRunner() { Drop(); }

void ChunkRunner::Drop() {
  if (kept_ == nullptr) return;
  kept_->trainer.reset();
  kept_.reset();
}

ChunkOutcome ChunkRunner::Run(const config::LanesAssignment& order, const std::function<void()>& alive) {
  const auto start = Clock::now();
  ChunkOutcome outcome;
  outcome.step = order.from_step();
  const std::vector<int> cards(order.cards().begin(), order.cards().end());
  const bool reuse = order.keep_trainer() && kept_ != nullptr && kept_->lane == order.lane() &&
                     kept_->cards == cards && kept_->trainer->step() == order.from_step();
  if (!reuse) {
    Drop();
    const LaneRuntime& lane = (*lanes_)[order.lane()];
    auto kept = std::make_unique<Kept>();
    kept->lane = order.lane();
    kept->cards = cards;
    absl::Status status;
    if (order.keep_trainer()) {
      status = absl::InternalError("told to keep the lane's trainer, but this card kept none for this lane");
    }
    if (status.ok()) {
      MemberGridOptions grid_options;
      grid_options.host = options_.host;
      grid_options.tp = lane.spec.tp;
      grid_options.comm.deadline = options_.deadline;
      grid_options.comm.name = absl::StrCat("lane", order.lane(), "/chunk", order.chunk());
      grid_options.tag = static_cast<int>(order.chunk() % 32768);
      absl::StatusOr<std::unique_ptr<ProcessGrid>> grid = CreateMemberGrid(options_.parent, cards, grid_options);
      if (grid.ok()) {
        kept->grid = *std::move(grid);
      } else {
        status = grid.status();
      }
    }
    if (status.ok()) {
      ParallelLayout layout;
      layout.tp = kept->grid->tp_size();
      layout.dp = kept->grid->dp_size();
      absl::StatusOr<TrainOptions> train = TrainOptionsFromConfig(lane.config, layout);
      if (!train.ok()) status = train.status();
      if (status.ok()) {
        train->steps = options_.max_steps;  // the LR schedule spans the lane's whole budget, whatever the chunk
        train->log_every = 0;
        train->metrics_path.clear();
        kept->eval_windows = train->eval_windows;
        kept->has_val = !train->val_pattern.empty();
        if (train->kernels == "cuda") {
          if (options_.device < 0) {
            status = absl::FailedPreconditionError("train.kernels = \"cuda\" but this rank has no GPU bound");
          }
          train->device = options_.device;
        }
      }
      if (status.ok()) {
        absl::StatusOr<std::unique_ptr<Trainer>> trainer = Trainer::Create(*train, kept->grid.get());
        if (trainer.ok()) {
          kept->trainer = *std::move(trainer);
        } else {
          status = trainer.status();
        }
      }
    }
    if (status.ok() && order.from_step() > 0) {
      alive();
      absl::StatusOr<ckpt::RestoreReport> restored =
          ckpt::RestoreTrainer(lane.checkpoint_dir, *kept->trainer, *kept->grid, nullptr);
      if (!restored.ok()) {
        status = restored.status();
      } else if (restored->step != order.from_step()) {
        status = absl::DataLossError(absl::StrCat("restored step ", restored->step, " from ", restored->path,
                                                  ", expected step ", order.from_step()));
      }
    }
    outcome.restored = true;
    kept_ = std::move(kept);
    if (!status.ok()) {
      std::cerr << absl::StrFormat("kachi lanes: card %d: lane %s at step %d: %s\n",
                                   kept_->grid ? kept_->grid->world().rank() : -1, lane.definition.name,
                                   outcome.step, status.message());
      outcome.kind = config::LanesJournalReport::FAILURE;
      outcome.failure = kLaneError;
    }
  }
  if (outcome.failure == kNoFailure) outcome = RunOnKept(order, alive, outcome);
  // The lane's members agree on failure (one card's error fails the lane even where its peers finished).
  if (kept_ != nullptr && kept_->grid != nullptr) {
    int64_t failure = outcome.failure;
    if (kept_->grid->world().AllReduce(&failure, &failure, 1, DType::kInt64, ReduceOp::kMax).ok() &&
        failure != kNoFailure && outcome.failure == kNoFailure) {
      outcome.kind = config::LanesJournalReport::FAILURE;
      outcome.failure = failure;
    }
  }
  if (outcome.failure != kNoFailure || order.at_target()) Drop();  // a lane at a rung gives its cards back
  outcome.work_s = std::chrono::duration<double>(Clock::now() - start).count();
  return outcome;
}

ChunkOutcome ChunkRunner::RunOnKept(const config::LanesAssignment& order, const std::function<void()>& alive,
                                    ChunkOutcome outcome) {
  const LaneRuntime& lane = (*lanes_)[order.lane()];
  Trainer& trainer = *kept_->trainer;
  auto fail = [&](const absl::Status& status) {
    std::cerr << absl::StrFormat("kachi lanes: card %d: lane %s at step %d: %s\n", kept_->grid->world().rank(),
                                 lane.definition.name, outcome.step, status.message());
    outcome.kind = config::LanesJournalReport::FAILURE;
    outcome.failure = kLaneError;
    return outcome;
  };
  alive();
  auto last_alive = Clock::now();
  const auto train_start = Clock::now();
  double loss = 0;
  while (trainer.step() < order.to_step()) {
    absl::StatusOr<StepResult> result = trainer.Step();
    const bool diverged = !result.ok() && absl::IsDataLoss(result.status()) &&
                          absl::StrContains(result.status().message(), "diverged");  // NaN/Inf gradients
    if (diverged || (result.ok() && !std::isfinite(result->loss))) {
      outcome.kind = config::LanesJournalReport::FAILURE;
      outcome.failure = kNonFiniteLoss;
      outcome.step = trainer.step();
      outcome.loss = diverged ? std::nan("") : result->loss;
      return outcome;
    }
    if (!result.ok()) return fail(result.status());
    outcome.step = trainer.step();
    loss = result->loss;
    if (order.lane() == options_.slow_lane && options_.slow_ms > 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(options_.slow_ms));
    }
    if (Clock::now() - last_alive > kAliveEvery) {
      alive();
      last_alive = Clock::now();
    }
  }
  outcome.train_s = std::chrono::duration<double>(Clock::now() - train_start).count();
  if (order.at_target() && kept_->eval_windows > 0 && kept_->has_val) {
    absl::StatusOr<float> val = trainer.Evaluate();
    if (!val.ok()) return fail(val.status());
    loss = *val;
  }
  const auto checkpoint_start = Clock::now();
  ckpt::CheckpointOptions checkpoint;
  checkpoint.dir = lane.checkpoint_dir;
  checkpoint.async = false;
  checkpoint.retention.keep_last = 2;  // the journal lags the newest checkpoint by at most one chunk
  ckpt::CheckpointWriter writer(checkpoint, kept_->grid.get(), &lane.config);
  if (absl::StatusOr<double> saved = writer.Save(trainer); !saved.ok()) return fail(saved.status());
  if (absl::Status finished = writer.Finish(); !finished.ok()) return fail(finished);
  outcome.checkpoint_s = std::chrono::duration<double>(Clock::now() - checkpoint_start).count();
  outcome.kind = order.at_target() ? config::LanesJournalReport::TARGET : config::LanesJournalReport::TICK;
  outcome.loss = loss;
  return outcome;
}

}  // namespace kachi::lanes
