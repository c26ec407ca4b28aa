// Asynchronous sharded checkpoint saves (see checkpoint_writer.h).
#include "runtime/ckpt/checkpoint_writer.h"

#include <unistd.h>

#include <chrono>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "comm/agree.h"
#include "kernels/base/status_macros.h"
#include "runtime/ckpt/checkpoint_paths.h"
#include "runtime/ckpt/commit.h"
#include "runtime/ckpt/manifest.h"
#include "runtime/ckpt/retention.h"

namespace kachi::ckpt {
namespace {

double NowSeconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// A positive number unique to this save attempt (names its temporary directory).
int64_t MakeNonce() {
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  return (std::chrono::duration_cast<std::chrono::microseconds>(now).count() ^
          (static_cast<int64_t>(::getpid()) << 40)) &
         0x7fffffffffffffffLL;
}

}  // namespace

CheckpointWriter::CheckpointWriter(CheckpointOptions options, ProcessGrid* grid, const config::KachiConfig* config,
                                   std::ostream* log)
    : options_(std::move(options)), grid_(grid), log_(grid->world().rank() == 0 ? log : nullptr) {
  if (config != nullptr) config_ = *config;
}

CheckpointWriter::~CheckpointWriter() { (void)JoinWorker(); }

absl::Status CheckpointWriter::JoinWorker() {
  if (!worker_.joinable()) return absl::OkStatus();
  worker_.join();
  absl::Status status = worker_status_;
  worker_status_ = absl::OkStatus();
  return status;
}

absl::Status CheckpointWriter::Agree(const absl::Status& status, const char* what) {
  return AgreeOnStatus(grid_->world(), status, what);
}

Manifest CheckpointWriter::ManifestHeader(Trainer& trainer) const {
  Manifest manifest;
  const TrainOptions& train = trainer.options();
  manifest.set_step(trainer.step());
  manifest.set_optimizer_steps(trainer.optimizer().steps_taken());
  LayoutRecord* layout = manifest.mutable_layout();
  layout->set_dp(grid_->dp_size());
  layout->set_tp(grid_->tp_size());
  layout->set_zero1(train.zero1 && grid_->dp_size() > 1);
  layout->set_buffer_size(trainer.model().buffer_size());
  *manifest.mutable_shape() = ShapeToProto(train.shape);
  *manifest.mutable_loader() = LoaderStateToProto(trainer.train_loader().state());
  TrainSettings* settings = manifest.mutable_train();
  settings->set_seq_len(train.seq_len);
  settings->set_global_batch(train.global_batch);
  settings->set_micro_batch(train.micro_batch);
  settings->set_init_seed(train.init_seed);
  settings->set_data_seed(train.data_seed);
  settings->set_train_pattern(train.train_pattern);
  settings->set_steps(train.steps);
  if (config_.has_value()) *manifest.mutable_config() = *config_;
  AddTensorRecords(train.shape, grid_->tp_size(), &manifest);
  return manifest;
}

absl::Status CheckpointWriter::WriteAndCommit(const std::string& temp_dir, int64_t step, Manifest header) {
  const double start = NowSeconds();
  WritePause pause;
  if (options_.test_pause.step >= 0 && options_.test_pause.step == step) {
    pause = WritePause{snapshot_.size() / 2, options_.test_pause.seconds};
  }
  absl::StatusOr<ShardRecord> record = WriteShard(temp_dir, &snapshot_, pause);
  if (!record.ok()) {
    ReportShardFailure(temp_dir, grid_->world().rank(), record.status());
    return record.status();
  }
  if (grid_->world().rank() != 0) return absl::OkStatus();
  KACHI_ASSIGN_OR_RETURN(std::vector<ShardRecord> records,
                         WaitForShardRecords(temp_dir, grid_->world().size(), options_.commit_timeout_s));
  KACHI_RETURN_IF_ERROR(CommitCheckpoint(options_.dir, temp_dir, std::move(header), records));
  absl::Status retention = ApplyRetention(options_.dir, options_.retention);
  int64_t bytes = 0;
  for (const ShardRecord& shard : records) bytes += shard.bytes();
  const double seconds = NowSeconds() - start;
  std::lock_guard<std::mutex> lock(note_mutex_);
  commit_note_ = absl::StrFormat("checkpoint %s committed: %.2f MB in %d shards, %.3f s (%.1f MB/s)%s\n",
                                 StepDirPath(options_.dir, step), bytes / 1e6, records.size(), seconds,
                                 bytes / 1e6 / std::max(seconds, 1e-9),
                                 retention.ok() ? "" : absl::StrCat(" | retention: ", retention.message()));
  return absl::OkStatus();
}

void CheckpointWriter::PrintCommitNote() {
  if (log_ == nullptr) return;
  std::lock_guard<std::mutex> lock(note_mutex_);
  if (commit_note_.empty()) return;
  *log_ << commit_note_;
  log_->flush();
  commit_note_.clear();
}

absl::StatusOr<double> CheckpointWriter::AfterStep(Trainer& trainer) {
  PrintCommitNote();
  const int64_t step = trainer.step();
  const bool due = step == trainer.options().steps || (options_.every > 0 && step % options_.every == 0);
  if (!due) return 0.0;
  return Save(trainer);
}

absl::StatusOr<double> CheckpointWriter::Save(Trainer& trainer) {
  const double start = NowSeconds();
  Communicator& world = grid_->world();
  // Wait for the previous save (its writer still reads the snapshot buffers this save reuses) and agree on its
  // outcome; rank 0's nonce names this save's temporary directory.
  const absl::Status previous = JoinWorker();
  int64_t agreed[2] = {previous.ok() ? -1 : world.rank(), world.rank() == 0 ? MakeNonce() : -1};
  KACHI_RETURN_IF_ERROR(world.AllReduce(agreed, agreed, 2, DType::kInt64, ReduceOp::kMax));
  if (!previous.ok()) return absl::Status(previous.code(), absl::StrCat("checkpoint save: ", previous.message()));
  if (agreed[0] >= 0) {
    return absl::AbortedError(absl::StrCat("checkpoint save failed on rank ", agreed[0], " (see its message)"));
  }
  PrintCommitNote();
  if (world.rank() == 0) {
    std::error_code error;
    std::filesystem::create_directories(options_.dir, error);
  }

  ShardSource source;
  source.rank = world.rank();
  source.dp_rank = grid_->dp_rank();
  source.tp_rank = grid_->tp_rank();
  source.zero1 = trainer.options().zero1 && grid_->dp_size() > 1;
  source.model_size = trainer.model().layout().total_size();
  source.params = trainer.model().params();  // null in mixed precision: the master weights are the parameters
  if (trainer.optimizer().mixed_precision()) source.master = trainer.optimizer().master_weights().data();
  source.optimizer = &trainer.optimizer();
  source.ops = &trainer.model().ops();
  KACHI_RETURN_IF_ERROR(snapshot_.Take(source, options_.snapshot));
  Manifest header = world.rank() == 0 ? ManifestHeader(trainer) : Manifest();
  const int64_t step = trainer.step();
  const std::string temp_dir = TempStepDirPath(options_.dir, step, agreed[1]);
  ++saves_started_;

  worker_ = std::thread([this, temp_dir, step, header = std::move(header)]() mutable {
    worker_status_ = WriteAndCommit(temp_dir, step, std::move(header));
  });
  if (!options_.async) {
    KACHI_RETURN_IF_ERROR(Agree(JoinWorker(), "checkpoint save"));
    PrintCommitNote();
  }
  last_stall_seconds_ = NowSeconds() - start;
  return last_stall_seconds_;
}

absl::Status CheckpointWriter::Finish() {
  absl::Status status = Agree(JoinWorker(), "checkpoint save");
  PrintCommitNote();
  return status;
}

}  // namespace kachi::ckpt
