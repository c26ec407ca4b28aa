// Training phases and global-state gathering for the checkpoint tests (see ckpt_test_util.h).
#include "tests/ckpt/ckpt_test_util.h"

#include <algorithm>

#include "gtest/gtest.h"
#include "runtime/ckpt/checkpoint_writer.h"
#include "runtime/ckpt/restore.h"
#include "tests/train/train_test_util.h"

namespace kachi::testing {

Phase FreshPhase(int dp, int tp, bool zero1, int64_t stop_at, const std::string& save_dir, int64_t save_every) {
  return Phase{dp, tp, zero1, stop_at, /*resume_dir=*/"", save_dir, save_every};
}

Phase ResumePhase(int dp, int tp, bool zero1, int64_t stop_at, const std::string& resume_dir) {
  Phase phase = FreshPhase(dp, tp, zero1, stop_at);
  phase.resume_dir = resume_dir;
  return phase;
}

TrainOptions CkptTrainOptions(const std::string& train_pattern, bool zero1) {
  TrainOptions options = TinyTrainOptions(kCkptShape, train_pattern, /*micro_batch=*/2, kCkptSteps, zero1);
  options.adamw.grad_clip = 1.0;
  options.adamw.eps = 1e-6;
  return options;
}

GlobalState GatherGlobalState(Trainer& trainer, ProcessGrid& grid) {
  const ParameterLayout& layout = trainer.model().layout();
  const bool zero1 = trainer.options().zero1 && grid.dp_size() > 1;
  const FlatRange range = trainer.optimizer().range();
  GlobalState state;
  for (const ParameterSpec& spec : layout.tensors()) {
    const size_t n = static_cast<size_t>(spec.global_rows * spec.global_cols);
    std::vector<float> params(n, 0.0f), m(n, 0.0f), v(n, 0.0f);
    const bool tp_owner = !(spec.tp_replicated && grid.tp_rank() != 0);
    if (tp_owner && grid.dp_rank() == 0) {
      for (int64_t i = 0; i < spec.size; ++i) params[spec.GlobalIndex(i)] = trainer.model().params()[spec.offset + i];
    }
    if (tp_owner && (zero1 || grid.dp_rank() == 0)) {
      const int64_t lo = std::max(range.begin, spec.offset), hi = std::min(range.end, spec.offset + spec.size);
      for (int64_t flat = lo; flat < hi; ++flat) {
        m[spec.GlobalIndex(flat - spec.offset)] = trainer.optimizer().first_moment()[flat - range.begin];
        v[spec.GlobalIndex(flat - spec.offset)] = trainer.optimizer().second_moment()[flat - range.begin];
      }
    }
    for (std::vector<float>* values : {&params, &m, &v}) {
      EXPECT_TRUE(grid.world().AllReduce(values->data(), values->data(), n, DType::kFloat32, ReduceOp::kSum).ok());
    }
    state.params.push_back(std::move(params));
    state.m.push_back(std::move(m));
    state.v.push_back(std::move(v));
  }
  return state;
}

PhaseResult RunPhase(Communicator& world, const std::string& train_pattern, const Phase& phase) {
  PhaseResult result;
  const int members = phase.dp * phase.tp;
  auto grid = ProcessGrid::Carve(world, world.rank() < members ? 0 : -1, phase.tp, /*host=*/"");
  EXPECT_TRUE(grid.ok()) << grid.status();
  if (!grid.ok() || *grid == nullptr) return result;
  result.member = true;
  auto trainer = Trainer::Create(CkptTrainOptions(train_pattern, phase.zero1), grid->get());
  EXPECT_TRUE(trainer.ok()) << trainer.status();
  if (!trainer.ok()) return result;
  Trainer& t = **trainer;
  if (!phase.resume_dir.empty()) {
    absl::StatusOr<ckpt::RestoreReport> report = ckpt::RestoreTrainer(phase.resume_dir, t, **grid, nullptr);
    result.restore_status = report.status();
    if (!report.ok()) return result;
    result.restored_step = report->step;
    result.skipped = report->skipped;
    result.restored = GatherGlobalState(t, **grid);
  }
  std::unique_ptr<ckpt::CheckpointWriter> writer;
  if (!phase.save_dir.empty()) {
    ckpt::CheckpointOptions options;
    options.dir = phase.save_dir;
    options.every = phase.save_every;
    options.retention = ckpt::RetentionPolicy{3, 0};
    options.async = true;
    writer = std::make_unique<ckpt::CheckpointWriter>(options, grid->get());
  }
  while (t.step() < phase.stop_at) {
    absl::StatusOr<StepResult> step = t.Step();
    EXPECT_TRUE(step.ok()) << step.status();
    if (!step.ok()) return result;
    result.losses.push_back(step->loss);
    if (writer) {
      absl::StatusOr<double> stall = writer->AfterStep(t);
      EXPECT_TRUE(stall.ok()) << stall.status();
      if (stall.ok()) result.max_stall_seconds = std::max(result.max_stall_seconds, *stall);
    }
  }
  if (writer) {
    EXPECT_TRUE(writer->Finish().ok());
  }
  result.final_state = GatherGlobalState(t, **grid);
  return result;
}

}  // namespace kachi::testing
