// Checkpoints under mpirun -np 4 on a tiny GPT: 20 steps straight vs 10 + async save + resume + 10 (bitwise equal
// losses, parameters and AdamW state); a checkpoint saved at (dp, tp) = (2, 2) resumed at (4, 1), (1, 2), (1, 1)
// and with ZeRO-1 switched on or off (state restored exactly, losses within 1e-5 relative of the uninterrupted
// run); damaged checkpoints (truncated shard, flipped byte, missing manifest) skipped in favour of the previous
// one; export to safetensors and import back exact, and the file readable by Python's safetensors; a shard write
// that fails (file-size limit) fails the save on every rank with the shard's path and commits nothing.
#include <mpi.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "comm/mpi_communicator.h"
#include "gtest/gtest.h"
#include "runtime/ckpt/checkpoint_paths.h"
#include "runtime/ckpt/checkpoint_writer.h"
#include "runtime/ckpt/export.h"
#include "runtime/data/token_shard.h"
#include "runtime/io/hf_gpt2.h"
#include "runtime/io/hf_gpt2_tensors.h"
#include "runtime/io/tensor_shard.h"
#include "tests/ckpt/ckpt_file_util.h"
#include "tests/ckpt/ckpt_test_util.h"
#include "tests/train/train_test_util.h"

namespace kachi {
namespace {

namespace fs = std::filesystem;
using testing::GlobalState;
using testing::Phase;
using testing::PhaseResult;
using testing::RunPhase;

constexpr double kLossTolerance = 1e-5;  // relative, per step, across layouts

// Element-by-element equality of two global states (exact: a restore copies bits).
void ExpectStatesEqual(const GlobalState& a, const GlobalState& b, const std::string& label) {
  ASSERT_EQ(a.params.size(), b.params.size()) << label;
  for (size_t t = 0; t < a.params.size(); ++t) {
    EXPECT_EQ(a.params[t], b.params[t]) << label << ": parameters of tensor " << t;
    EXPECT_EQ(a.m[t], b.m[t]) << label << ": AdamW m of tensor " << t;
    EXPECT_EQ(a.v[t], b.v[t]) << label << ": AdamW v of tensor " << t;
  }
}

class CheckpointResumeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto world = CreateMpiCommunicator(MPI_COMM_WORLD, CommOptions{absl::Seconds(120), "world"});
    ASSERT_TRUE(world.ok()) << world.status();
    world_ = world->release();
    char dir[256] = {0};
    if (world_->rank() == 0) {
      std::snprintf(dir, sizeof(dir), "/tmp/kachi_ckpt_test_%d", static_cast<int>(getpid()));
      fs::remove_all(dir);
      testing::WriteSkewedTokenShard(std::string(dir) + "/data", testing::kCkptShape.vocab_size, 20000,
                                     testing::TestDataSeed());
    }
    ASSERT_TRUE(world_->Broadcast(dir, sizeof(dir) / 4, DType::kInt32, 0).ok());
    root_ = dir;
  }

  static void TearDownTestSuite() {
    MPI_Barrier(MPI_COMM_WORLD);
    if (world_->rank() == 0) fs::remove_all(root_);
    delete world_;
  }

  static std::string Pattern() { return root_ + "/data/train_*.bin"; }
  static PhaseResult Run(const Phase& phase) { return RunPhase(*world_, Pattern(), phase); }
  static void Barrier() { ASSERT_TRUE(world_->Barrier().ok()); }

  static inline Communicator* world_ = nullptr;
  static inline std::string root_;
};

TEST_F(CheckpointResumeTest, SplitRunWithAsyncSaveIsBitwiseIdentical) {
  struct Layout {
    int dp, tp;
    bool zero1;
  };
  for (const Layout& l : {Layout{2, 2, true}, Layout{1, 1, false}, Layout{4, 1, false}}) {
    const std::string label = "dp=" + std::to_string(l.dp) + " tp=" + std::to_string(l.tp) + (l.zero1 ? " zero1" : "");
    const std::string dir = root_ + "/bitwise_" + std::to_string(l.dp) + "x" + std::to_string(l.tp);
    const PhaseResult straight = Run(testing::FreshPhase(l.dp, l.tp, l.zero1, testing::kCkptSteps));
    const PhaseResult first = Run(testing::FreshPhase(l.dp, l.tp, l.zero1, 10, dir, 5));
    const PhaseResult second = Run(testing::ResumePhase(l.dp, l.tp, l.zero1, testing::kCkptSteps, dir));
    if (!straight.member) continue;
    ASSERT_TRUE(second.restore_status.ok()) << label << ": " << second.restore_status;
    EXPECT_EQ(second.restored_step, 10) << label;
    EXPECT_TRUE(second.skipped.empty()) << label;
    EXPECT_GT(first.max_stall_seconds, 0.0) << label << ": the save's stall was not measured";
    ASSERT_EQ(straight.losses.size(), 20u) << label;
    ASSERT_EQ(first.losses.size(), 10u) << label;
    ASSERT_EQ(second.losses.size(), 10u) << label;
    for (size_t i = 0; i < 10; ++i) {
      EXPECT_EQ(first.losses[i], straight.losses[i]) << label << " step " << i;
      EXPECT_EQ(second.losses[i], straight.losses[10 + i]) << label << " step " << 10 + i;
    }
    ExpectStatesEqual(second.restored, first.final_state, label + " restored vs saved");
    ExpectStatesEqual(second.final_state, straight.final_state, label + " final");
    if (world_->rank() == 0) {
      EXPECT_EQ(ckpt::ReadLatest(dir), std::optional<int64_t>(10)) << label;
      EXPECT_EQ(ckpt::ListStepsWithManifest(dir), (std::vector<int64_t>{5, 10})) << label;
    }
  }
}

TEST_F(CheckpointResumeTest, ReshardedResumeMatchesUninterruptedRun) {
  // Saved at (2, 2) with ZeRO-1 on and off; each resumed at other widths and with ZeRO-1 toggled.
  for (const bool saved_zero1 : {true, false}) {
    const std::string dir = root_ + (saved_zero1 ? "/reshard_zero1" : "/reshard_plain");
    const PhaseResult reference = Run(testing::FreshPhase(2, 2, saved_zero1, testing::kCkptSteps));
    const PhaseResult saved = Run(testing::FreshPhase(2, 2, saved_zero1, 10, dir, 10));
    const int64_t end = testing::kCkptSteps;
    const Phase resumes[] = {testing::ResumePhase(4, 1, false, end, dir), testing::ResumePhase(1, 2, false, end, dir),
                             testing::ResumePhase(1, 1, false, end, dir),
                             testing::ResumePhase(2, 2, !saved_zero1, end, dir),
                             testing::ResumePhase(4, 1, true, end, dir)};
    for (const Phase& phase : resumes) {
      const std::string label = std::string("saved (2,2)") + (saved_zero1 ? " zero1" : "") + " -> (" +
                                std::to_string(phase.dp) + "," + std::to_string(phase.tp) + ")" +
                                (phase.zero1 ? " zero1" : "");
      const PhaseResult resumed = Run(phase);
      if (!resumed.member) continue;
      ASSERT_TRUE(resumed.restore_status.ok()) << label << ": " << resumed.restore_status;
      EXPECT_EQ(resumed.restored_step, 10) << label;
      // Rank 0 is in every grid and holds both the reference's and the saved run's gathered state.
      if (world_->rank() == 0) ExpectStatesEqual(resumed.restored, saved.final_state, label + " restored vs saved");
      ASSERT_EQ(resumed.losses.size(), 10u) << label;
      if (world_->rank() != 0) continue;
      for (size_t i = 0; i < 10; ++i) {
        const double ref = reference.losses[10 + i];
        EXPECT_LE(std::fabs(resumed.losses[i] - ref) / std::fabs(ref), kLossTolerance)
            << label << " step " << 10 + i << ": " << resumed.losses[i] << " vs " << ref;
      }
    }
  }
}

// Damages step 10 of checkpoint directory `dir` in the way `how` names (truncated, flipped, no_manifest).
void Damage(const std::string& dir, const std::string& how) {
  const std::string step_dir = dir + "/" + ckpt::StepDirName(10);
  if (how == "truncated") {
    const std::string shard = step_dir + "/" + ckpt::ShardFileName(1);
    fs::resize_file(shard, fs::file_size(shard) / 2);
  } else if (how == "flipped") {
    std::fstream shard(step_dir + "/" + ckpt::ShardFileName(2), std::ios::in | std::ios::out | std::ios::binary);
    shard.seekg(100);
    char byte = 0;
    shard.read(&byte, 1);
    byte ^= 0x10;
    shard.seekp(100);
    shard.write(&byte, 1);
  } else if (how == "no_manifest") {
    fs::remove(step_dir + "/" + ckpt::kManifestFile);
  }
}

TEST_F(CheckpointResumeTest, DamagedCheckpointFallsBackToThePreviousOne) {
  const std::string source = root_ + "/damage_source";
  Run(testing::FreshPhase(2, 2, true, 10, source, 5));
  const std::vector<std::string> kinds = {"truncated", "flipped", "no_manifest"};
  if (world_->rank() == 0) {
    for (const std::string& how : kinds) {
      fs::copy(source, root_ + "/damage_" + how, fs::copy_options::recursive);
      Damage(root_ + "/damage_" + how, how);
    }
  }
  Barrier();
  for (const std::string& how : kinds) {
    for (const auto& [dp, tp] : {std::pair{2, 2}, std::pair{1, 1}}) {
      const std::string label = how + " at (" + std::to_string(dp) + "," + std::to_string(tp) + ")";
      const PhaseResult resumed = Run(testing::ResumePhase(dp, tp, false, 5, root_ + "/damage_" + how));
      if (!resumed.member) continue;
      ASSERT_TRUE(resumed.restore_status.ok()) << label << ": " << resumed.restore_status;
      EXPECT_EQ(resumed.restored_step, 5) << label;
      ASSERT_EQ(resumed.skipped.size(), 1u) << label;
      EXPECT_NE(resumed.skipped[0].find(ckpt::StepDirName(10)), std::string::npos) << label << ": " << resumed.skipped[0];
    }
  }
  // Both checkpoints damaged: no fallback is left, and every rank says so.
  if (world_->rank() == 0) {
    fs::remove(root_ + "/damage_no_manifest/" + ckpt::StepDirName(5) + "/" + ckpt::kManifestFile);
  }
  Barrier();
  const PhaseResult none = Run(testing::ResumePhase(2, 2, true, 5, root_ + "/damage_no_manifest"));
  if (none.member) {
    EXPECT_EQ(none.restore_status.code(), absl::StatusCode::kDataLoss) << none.restore_status;
  }
}

TEST_F(CheckpointResumeTest, FailedShardWriteFailsTheSaveEverywhereAndCommitsNothing) {
  const std::string dir = root_ + "/write_error";
  auto grid = ProcessGrid::Create(*world_, 2, 2, /*host=*/"");
  ASSERT_TRUE(grid.ok()) << grid.status();
  auto trainer = Trainer::Create(testing::CkptTrainOptions(Pattern(), true), grid->get());
  ASSERT_TRUE(trainer.ok()) << trainer.status();
  ASSERT_TRUE((*trainer)->Step().ok());
  ckpt::CheckpointOptions options;
  options.dir = dir;
  options.async = true;
  ckpt::CheckpointWriter writer(options, grid->get());
  // Every shard is larger than 16 KiB: write(2) fails with EFBIG part way.
  absl::StatusOr<double> stall = absl::UnknownError("not saved");
  absl::Status finished;
  {
    testing::ScopedFileSizeLimit limit(16 << 10);
    ASSERT_TRUE(limit.ok());
    stall = writer.Save(**trainer);
    finished = writer.Finish();
  }
  EXPECT_TRUE(stall.ok()) << stall.status();  // async: the error comes with Finish
  ASSERT_FALSE(finished.ok());
  EXPECT_NE(finished.message().find("cannot write"), std::string::npos) << finished;
  EXPECT_NE(finished.message().find(ckpt::ShardFileName(world_->rank())), std::string::npos) << finished;
  Barrier();
  if (world_->rank() == 0) {
    EXPECT_TRUE(ckpt::ListStepDirs(dir).empty());
    EXPECT_FALSE(ckpt::ReadLatest(dir).has_value());
  }
  Barrier();
  // The next save, with room to write, commits.
  ASSERT_TRUE(writer.Save(**trainer).ok());
  ASSERT_TRUE(writer.Finish().ok());
  if (world_->rank() == 0) {
    EXPECT_EQ(ckpt::ReadLatest(dir), std::optional<int64_t>(1));
    EXPECT_EQ(ckpt::ListStepsWithManifest(dir), (std::vector<int64_t>{1}));
  }
}

TEST_F(CheckpointResumeTest, ExportImportRoundTripIsExact) {
  const std::string dir = root_ + "/export_source";
  const std::string file = root_ + "/export.safetensors";
  const PhaseResult saved = Run(testing::FreshPhase(2, 2, true, 10, dir, 10));
  if (world_->rank() == 0) {
    absl::StatusOr<std::string> exported = ckpt::ExportCheckpointSafetensors(dir, file);
    ASSERT_TRUE(exported.ok()) << exported.status();
    EXPECT_EQ(*exported, dir + "/" + ckpt::StepDirName(10));
  }
  Barrier();
  // Rank 0 (which holds the saved run's gathered state) imports at tp = 1 and at both ranks of tp = 2.
  if (world_->rank() != 0) return;
  for (int tp : {1, 2}) {
    for (int tp_rank = 0; tp_rank < tp; ++tp_rank) {
      const ParameterLayout layout(testing::kCkptShape, tp_rank, tp);
      std::vector<float> local(static_cast<size_t>(layout.total_size()));
      ASSERT_TRUE(LoadHfGpt2(file, layout, HfGpt2Options{}, local.data()).ok());
      for (size_t t = 0; t < layout.tensors().size(); ++t) {
        const ParameterSpec& spec = layout.tensors()[t];
        std::vector<float> expected(static_cast<size_t>(spec.size));
        ExtractLocal(spec, saved.final_state.params[t].data(), expected.data());
        EXPECT_EQ(std::vector<float>(local.begin() + spec.offset, local.begin() + spec.offset + spec.size), expected)
            << spec.name << " at tp rank " << tp_rank << " of " << tp;
      }
    }
  }
}

TEST_F(CheckpointResumeTest, ExportedFileOpensInPythonSafetensors) {
  const std::string dir = root_ + "/python_source";
  Run(testing::FreshPhase(2, 2, false, 5, dir, 5));
  if (world_->rank() != 0) return;
  const char* env = std::getenv("KACHI_PYTHON");
  const std::string python = env && *env ? env : "python3";
  if (std::system((python + " -c 'import numpy, safetensors.numpy' 2>/dev/null").c_str()) != 0) {
    GTEST_SKIP() << python << " lacks numpy/safetensors (pip install numpy safetensors, or point KACHI_PYTHON at an "
                 << "interpreter that has them): Python check of the exported file skipped";
  }
  const std::string file = root_ + "/python.safetensors", listing = root_ + "/python_listing.txt";
  ASSERT_TRUE(ckpt::ExportCheckpointSafetensors(dir, file).ok());
  const std::string script =
      "import sys, numpy, safetensors.numpy as st\n"
      "d = st.load_file(sys.argv[1])\n"
      "with open(sys.argv[2], 'w') as out:\n"
      "    for name in sorted(d):\n"
      "        a = d[name]\n"
      "        assert a.dtype == numpy.float32 and numpy.isfinite(a).all(), name\n"
      "        out.write(name + ' ' + ','.join(str(x) for x in a.shape) + '\\n')\n";
  std::ofstream(root_ + "/list.py") << script;
  ASSERT_EQ(std::system((python + " " + root_ + "/list.py " + file + " " + listing).c_str()), 0);
  std::ifstream in(listing);
  std::map<std::string, std::string> found;
  std::string name, shape;
  while (in >> name >> shape) found[name] = shape;
  const ParameterLayout layout(testing::kCkptShape, 0, 1);
  EXPECT_EQ(found.size(), layout.tensors().size());
  for (size_t t = 0; t < layout.tensors().size(); ++t) {
    std::string expected;
    for (int64_t dim : HfShapeOf(layout, static_cast<int>(t))) expected += (expected.empty() ? "" : ",") + std::to_string(dim);
    EXPECT_EQ(found[layout.tensors()[t].name], expected) << layout.tensors()[t].name;
  }
}

}  // namespace
}  // namespace kachi
