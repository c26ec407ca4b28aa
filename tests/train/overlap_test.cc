// Data-parallel gradient reduction overlapped with backward (parallel.overlap_grad_reduce), under mpirun -np 4:
// at dp 2 and dp 2 x tp 2, fp32 and bf16 (CPU emulation), gradient accumulation 2 and small buckets, training with
// the overlap on and off gives bitwise identical losses and final parameters, and the overlapped run launched
// every bucket of the blocks' tensors before backward ended; a bucket all-reduce that fails on the worker thread
// ends Trainer::Step with that error instead of hanging.
#include <mpi.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "comm/process_grid.h"
#include "gtest/gtest.h"
#include "runtime/train/trainer.h"
#include "tests/train/shared_data_world.h"
#include "tests/train/train_test_util.h"

namespace kachi {
namespace {

const GptShape kShape{2, 4, 32, 64, 64, 16};

// What a run produced on this rank.
struct RunResult {
  std::vector<float> losses;
  std::vector<float> params;  // this rank's flat fp32 parameters (the master weights in bf16)
  OverlapStats stats;         // of the last step
  int buckets = 0;
  int expected_early = 0;  // buckets lying entirely in the blocks, ln_f and padding: ready before wpe and wte
};

// Options of every run here: global batch 8, micro-batch 2 (accumulation 2 at dp 2), buckets of 2 KiB.
TrainOptions Options(const std::string& data_dir, const std::string& precision, bool overlap) {
  TrainOptions options = testing::TinyTrainOptions(kShape, data_dir + "/train_*.bin", /*micro_batch=*/2, /*steps=*/6,
                                                   /*zero1=*/false);
  options.precision = precision;
  options.adamw.grad_clip = 1.0;
  options.overlap_grad_reduce = overlap;
  return options;
}

class OverlapTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto shared = testing::SharedDataWorld::Create("kachi_overlap", kShape.vocab_size, 20260301);
    ASSERT_TRUE(shared.ok()) << shared.status();
    shared_ = *std::move(shared);
  }

  static void TearDownTestSuite() { shared_.reset(); }

  // Trains at (dp, tp) on the first dp*tp ranks; other ranks return an empty result.
  static RunResult Train(int dp, int tp, const std::string& precision, bool overlap) {
    RunResult result;
    auto grid = ProcessGrid::Carve(shared_->world(), shared_->world().rank() < dp * tp ? 0 : -1, tp, /*host=*/"");
    EXPECT_TRUE(grid.ok()) << grid.status();
    if (!grid.ok() || *grid == nullptr) return result;
    auto trainer = Trainer::Create(Options(shared_->data_dir(), precision, overlap), grid->get());
    EXPECT_TRUE(trainer.ok()) << trainer.status();
    if (!trainer.ok()) return result;
    EXPECT_EQ((*trainer)->accumulation_steps(), 2);
    if (!testing::RunSteps(**trainer, &result.losses)) return result;
    result.params.resize((*trainer)->model().buffer_size());
    EXPECT_TRUE((*trainer)->GetParameters(result.params.data()).ok());
    const GradientSync& sync = (*trainer)->gradient_sync();
    result.stats = sync.overlap_stats();
    result.buckets = static_cast<int>(sync.buckets().size());
    const ParameterLayout& layout = (*trainer)->model().layout();
    const int64_t blocks_begin = layout.tensors()[layout.wpe()].offset + layout.tensors()[layout.wpe()].size;
    for (const FlatRange& bucket : sync.buckets()) result.expected_early += bucket.begin >= blocks_begin ? 1 : 0;
    return result;
  }

  static inline std::unique_ptr<testing::SharedDataWorld> shared_;
};

TEST_F(OverlapTest, OverlapOnAndOffAreBitwiseIdentical) {
  struct Case {
    int dp, tp;
    const char* precision;
  };
  for (const Case& c : {Case{2, 1, "fp32"}, Case{2, 2, "fp32"}, Case{2, 1, "bf16"}, Case{2, 2, "bf16"}}) {
    const std::string label = "dp=" + std::to_string(c.dp) + " tp=" + std::to_string(c.tp) + " " + c.precision;
    const RunResult off = Train(c.dp, c.tp, c.precision, false);
    const RunResult on = Train(c.dp, c.tp, c.precision, true);
    if (shared_->world().rank() >= c.dp * c.tp) continue;
    ASSERT_EQ(off.losses.size(), 6u) << label;
    ASSERT_EQ(on.losses.size(), off.losses.size()) << label;
    for (size_t i = 0; i < off.losses.size(); ++i) {
      EXPECT_EQ(std::memcmp(&on.losses[i], &off.losses[i], sizeof(float)), 0)
          << label << " step " << i << ": loss " << on.losses[i] << " (overlap) vs " << off.losses[i];
    }
    ASSERT_EQ(on.params.size(), off.params.size()) << label;
    size_t differing = 0;
    for (size_t i = 0; i < on.params.size(); ++i) {
      differing += std::memcmp(&on.params[i], &off.params[i], sizeof(float)) != 0 ? 1 : 0;
    }
    EXPECT_EQ(differing, 0u) << label << ": parameters differ between overlap on and off";
    // The overlapped run launched every bucket, those of the blocks' tensors before backward ended; without the
    // overlap nothing was launched early.
    EXPECT_GT(on.buckets, 3) << label;
    EXPECT_EQ(on.stats.buckets, on.buckets) << label;
    EXPECT_GT(on.expected_early, 0) << label;
    EXPECT_EQ(on.stats.launched_early, on.expected_early) << label;
    EXPECT_EQ(off.stats.buckets, 0) << label;
  }
}

// A communicator that forwards to another one and, once armed, fails every data-parallel all-reduce of more than
// one element (a gradient bucket) issued from a thread other than the one that armed it (GradientSync's worker).
// Its splits are wrapped the same way and share the arming.
class FaultyCommunicator : public Communicator {
 public:
  struct Plan {
    std::atomic<bool> armed{false};
    std::thread::id main_thread = std::this_thread::get_id();
    std::atomic<int> failures{0};
  };

  FaultyCommunicator(std::unique_ptr<Communicator> inner, std::shared_ptr<Plan> plan)
      : Communicator(inner->options()), inner_(std::move(inner)), plan_(std::move(plan)) {}

  int rank() const override { return inner_->rank(); }
  int size() const override { return inner_->size(); }
  absl::string_view backend() const override { return inner_->backend(); }
  bool wants_device_buffers() const override { return inner_->wants_device_buffers(); }

 protected:
  absl::Status DoAllReduce(const void* send, void* recv, size_t count, DType dtype, ReduceOp op) override {
    if (plan_->armed && count > 1 && absl::EndsWith(options_.name, "/dp") &&
        std::this_thread::get_id() != plan_->main_thread) {
      ++plan_->failures;
      return absl::DataLossError("injected bucket failure");
    }
    return inner_->AllReduce(send, recv, count, dtype, op);
  }
  absl::Status DoReduceScatter(const void* send, void* recv, size_t count, DType dtype, ReduceOp op) override {
    return inner_->ReduceScatter(send, recv, count, dtype, op);
  }
  absl::Status DoAllGather(const void* send, void* recv, size_t count, DType dtype) override {
    return inner_->AllGather(send, recv, count, dtype);
  }
  absl::Status DoBroadcast(void* buffer, size_t count, DType dtype, int root) override {
    return inner_->Broadcast(buffer, count, dtype, root);
  }
  absl::Status DoBarrier() override { return inner_->Barrier(); }
  absl::StatusOr<std::unique_ptr<Communicator>> DoSplit(int color, int key, CommOptions options) override {
    auto split = inner_->Split(color, key, options.name);
    if (!split.ok() || *split == nullptr) return split;
    return std::unique_ptr<Communicator>(new FaultyCommunicator(*std::move(split), plan_));
  }

 private:
  std::unique_ptr<Communicator> inner_;
  std::shared_ptr<Plan> plan_;
};

TEST_F(OverlapTest, BucketFailureOnTheWorkerEndsTheStep) {
  Communicator& world = shared_->world();
  auto members = world.Split(world.rank() < 2 ? 0 : -1, world.rank(), "overlap_members");
  ASSERT_TRUE(members.ok()) << members.status();
  if (*members != nullptr) {
    auto plan = std::make_shared<FaultyCommunicator::Plan>();
    auto grid = ProcessGrid::Adopt(std::make_unique<FaultyCommunicator>(*std::move(members), plan), /*tp=*/1,
                                   /*host=*/"");
    ASSERT_TRUE(grid.ok()) << grid.status();
    auto trainer = Trainer::Create(Options(shared_->data_dir(), "fp32", true), grid->get());
    ASSERT_TRUE(trainer.ok()) << trainer.status();
    ASSERT_TRUE((*trainer)->Step().ok());
    plan->armed = true;  // both ranks fail the same (first) bucket, so neither waits for the other
    auto step = (*trainer)->Step();
    ASSERT_FALSE(step.ok());
    EXPECT_EQ(step.status().code(), absl::StatusCode::kDataLoss) << step.status();
    EXPECT_TRUE(absl::StrContains(step.status().message(), "injected bucket failure")) << step.status();
    EXPECT_TRUE(absl::StrContains(step.status().message(), "gradient bucket 0")) << step.status();
    EXPECT_EQ(plan->failures.load(), 1) << "no bucket collective may follow the failed one";
  }
  MPI_Barrier(MPI_COMM_WORLD);
}

}  // namespace
}  // namespace kachi
