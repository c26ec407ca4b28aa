// The training loop (see trainer.h).
#include "runtime/train/trainer.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "kernels/base/status_macros.h"
#include "runtime/metrics/event_file_writer.h"
#include "runtime/model/cuda_model_ops.h"
#include "runtime/model/parameter_layout.h"
#include "runtime/train/timeline.h"

namespace kachi {
namespace {

double NowSeconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::string FormatDuration(double seconds) {
  const int64_t s = static_cast<int64_t>(seconds + 0.5);
  if (s >= 3600) return absl::StrFormat("%dh%02dm", s / 3600, (s / 60) % 60);
  if (s >= 60) return absl::StrFormat("%dm%02ds", s / 60, s % 60);
  return absl::StrFormat("%ds", s);
}

}  // namespace

Trainer::Trainer(const TrainOptions& options, ProcessGrid* grid) : options_(options), grid_(grid) {}

absl::StatusOr<std::unique_ptr<Trainer>> Trainer::Create(const TrainOptions& options, ProcessGrid* grid) {
  const int dp = grid->dp_size(), tp = grid->tp_size();
  KACHI_RETURN_IF_ERROR(ValidateShape(options.shape, tp));
  if (options.seq_len <= 0 || options.seq_len > options.shape.context) {
    return absl::InvalidArgumentError(
        absl::StrCat("train.seq_len ", options.seq_len, " must be in [1, model context ", options.shape.context, "]"));
  }
  if (options.micro_batch <= 0 || options.global_batch <= 0 || options.global_batch % (options.micro_batch * dp) != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("global batch ", options.global_batch, " must be a positive multiple of micro_batch (",
                     options.micro_batch, ") x dp (", dp, "): global batch = micro_batch x accumulation x dp"));
  }
  if (options.steps <= 0) return absl::InvalidArgumentError("train.steps must be positive");
  if (options.train_pattern.empty()) return absl::InvalidArgumentError("data.train is empty: no training shards");

  if (options.precision != "fp32" && options.precision != "bf16") {
    return absl::InvalidArgumentError(
        absl::StrCat("train.precision = '", options.precision, "': expected \"fp32\" or \"bf16\""));
  }
  const bool mixed = options.precision == "bf16";
  std::unique_ptr<Trainer> trainer(new Trainer(options, grid));
  if (options.kernels == "cuda") {
    absl::StatusOr<std::unique_ptr<ModelOps>> ops = MakeCudaModelOps(options.device);
    if (!ops.ok()) return ops.status();
    trainer->owned_ops_ = std::move(*ops);
  } else if (options.kernels != "cpu") {
    return absl::InvalidArgumentError(
        absl::StrCat("train.kernels = '", options.kernels, "': expected \"cpu\" or \"cuda\""));
  }
  ModelOps* ops = trainer->owned_ops_ ? trainer->owned_ops_.get() : &CpuModelOps();
  if (options.profile_ops) {
    trainer->profiler_ = std::make_unique<ProfilingOps>(ops);
    ops = trainer->profiler_.get();
  }
  trainer->model_ = std::make_unique<GptModel>(options.shape, &grid->tp(), options.zero1 ? dp : 1, ops,
                                               mixed ? DType::kBFloat16 : DType::kFloat32);
  GptModel& model = *trainer->model_;
  KACHI_RETURN_IF_ERROR(model.allocation_status());
  model.set_activation_recompute(options.activation_recompute);

  TrainLoaderOptions train;
  train.pattern = options.train_pattern;
  train.seq_len = options.seq_len;
  train.global_batch = options.global_batch;
  train.micro_batch = options.micro_batch;
  train.dp_size = dp;
  train.dp_rank = grid->dp_rank();
  train.seed = options.data_seed;
  train.vocab_size = static_cast<int>(options.shape.vocab_size);
  absl::StatusOr<TrainLoader> train_loader = TrainLoader::Open(train);
  if (!train_loader.ok()) return train_loader.status();
  trainer->train_loader_.emplace(std::move(*train_loader));

  if (!options.val_pattern.empty() && options.eval_windows > 0) {
    EvalLoaderOptions eval;
    eval.pattern = options.val_pattern;
    eval.seq_len = options.seq_len;
    eval.num_windows = options.eval_windows;
    eval.micro_batch = options.micro_batch;
    eval.dp_size = dp;
    eval.dp_rank = grid->dp_rank();
    eval.vocab_size = train.vocab_size;
    absl::StatusOr<EvalLoader> eval_loader = EvalLoader::Open(eval);
    if (!eval_loader.ok()) return eval_loader.status();
    trainer->eval_loader_.emplace(std::move(*eval_loader));
  }

  trainer->sync_ = std::make_unique<GradientSync>(model.layout(), model.buffer_size(), &grid->dp(),
                                                  options.bucket_bytes, options.zero1);
  const FlatRange range = trainer->sync_->shard();
  trainer->optimizer_ = std::make_unique<ShardedAdamW>(model.layout(), range, trainer->sync_->zero1(), &grid->tp(),
                                                       &grid->dp(), options.adamw, &model.ops(), mixed);
  if (trainer->sync_->zero1()) {
    if (mixed) {
      trainer->shard_grads_bf16_.Reset(&model.device(), range.end - range.begin);
    } else {
      trainer->shard_grads_.Reset(&model.device(), range.end - range.begin);
    }
  }
  KACHI_RETURN_IF_ERROR(trainer->optimizer_->allocation_status());
  KACHI_RETURN_IF_ERROR(trainer->shard_grads_.status());
  KACHI_RETURN_IF_ERROR(trainer->shard_grads_bf16_.status());
  std::vector<float> initial(model.buffer_size(), 0.0f);
  InitializeParameters(model.layout(), options.init_seed, initial.data());
  KACHI_RETURN_IF_ERROR(trainer->SetParameters(initial.data()));
  return trainer;
}

absl::Status Trainer::SetParameters(const float* host) {
  KACHI_RETURN_IF_ERROR(model_->SetParameters(host));
  if (!optimizer_->mixed_precision()) return absl::OkStatus();
  return optimizer_->SetMaster(host + optimizer_->range().begin);
}

absl::Status Trainer::GetParameters(float* host) {
  if (!optimizer_->mixed_precision()) return model_->GetParameters(host);
  // The fp32 master: this rank's range, gathered across data-parallel ranks when ZeRO-1 shards it.
  OpsBuffer<float>& master = optimizer_->master_weights();
  if (!sync_->zero1()) return model_->device().Download(host, master.data(), master.size() * sizeof(float));
  OpsBuffer<float> full(&model_->device(), model_->buffer_size());
  KACHI_RETURN_IF_ERROR(BeforeCollective());
  KACHI_RETURN_IF_ERROR(grid_->dp().AllGather(master.data(), full.data(), master.size(), DType::kFloat32));
  KACHI_RETURN_IF_ERROR(AfterCollective(grid_->dp()));
  return model_->device().Download(host, full.data(), full.size() * sizeof(float));
}

absl::Status Trainer::BeforeCollective() {
  return model_->device().device_memory() ? model_->device().Synchronize() : absl::OkStatus();
}

absl::Status Trainer::AfterCollective(Communicator& comm) {
  if (!model_->device().device_memory()) return absl::OkStatus();
  TimelineScope wait(TimelineCategory::kComm, "comm_synchronize");
  return comm.Synchronize();
}

absl::StatusOr<StepResult> Trainer::Step() {
  const double start = NowSeconds();
  StepResult result;
  result.step = train_loader_->step();
  const int accumulation = train_loader_->accumulation_steps();
  KACHI_RETURN_IF_ERROR(model_->ZeroGrads());
  // Gradients are reduced once: during the last micro-step's backward (overlap), or after it. Earlier micro-steps
  // accumulate locally.
  const bool overlap = options_.overlap_grad_reduce.value_or(grid_->dp().asynchronous()) && sync_->can_overlap();
  const float grad_scale = 1.0f / static_cast<float>(accumulation);
  double loss_sum = 0;
  for (int micro = 0; micro < accumulation; ++micro) {
    absl::StatusOr<TokenBatch> batch = [&] {
      TimelineScope data(TimelineCategory::kData, "micro_batch");
      return train_loader_->MicroBatch(micro);
    }();
    if (!batch.ok()) return batch.status();
    TimelineScope compute(TimelineCategory::kCompute, "forward_backward");
    absl::StatusOr<float> loss = overlap && micro + 1 == accumulation
                                     ? ForwardBackwardOverlapped(*batch, grad_scale)
                                     : model_->ForwardBackward(batch->inputs.data(), batch->targets.data(),
                                                               batch->batch_size, batch->seq_len, grad_scale);
    if (!loss.ok()) return loss.status();
    loss_sum += *loss;
  }
  const bool mixed = model_->mixed_precision();
  const DType dtype = model_->compute_dtype();
  void* shard_grads = mixed ? static_cast<void*>(shard_grads_bf16_.data()) : shard_grads_.data();
  if (!overlap) {
    KACHI_RETURN_IF_ERROR(BeforeCollective());
    KACHI_RETURN_IF_ERROR(sync_->Reduce(model_->grad_data(), shard_grads, dtype));
  }
  KACHI_RETURN_IF_ERROR(AfterCollective(grid_->dp()));
  result.lr = options_.schedule.At(result.step);
  std::optional<TimelineScope> optimizer_scope(std::in_place, TimelineCategory::kOptimizer, "adamw");
  absl::StatusOr<double> norm =
      mixed ? optimizer_->Step(model_->params_bf16(), sync_->zero1() ? shard_grads_bf16_.data() : model_->grads_bf16(),
                               result.lr)
            : optimizer_->Step(model_->params(), sync_->zero1() ? shard_grads_.data() : model_->grads(), result.lr);
  optimizer_scope.reset();
  if (!norm.ok()) return norm.status();
  result.grad_norm = *norm;
  KACHI_RETURN_IF_ERROR(BeforeCollective());
  KACHI_RETURN_IF_ERROR(sync_->GatherParameters(model_->param_data(), dtype));
  KACHI_RETURN_IF_ERROR(AfterCollective(grid_->dp()));

  float loss = static_cast<float>(loss_sum / accumulation);
  if (grid_->dp_size() > 1) {
    KACHI_RETURN_IF_ERROR(grid_->dp().AllReduce(&loss, &loss, 1, DType::kFloat32, ReduceOp::kAvg));
  }
  if (!std::isfinite(loss)) {
    return absl::DataLossError(absl::StrCat("loss is ", loss, " at step ", result.step, ": the run diverged"));
  }
  result.loss = loss;
  result.tokens = options_.global_batch * options_.seq_len;
  train_loader_->Advance();
  result.seconds = NowSeconds() - start;
  return result;
}

absl::StatusOr<float> Trainer::ForwardBackwardOverlapped(const TokenBatch& batch, float grad_scale) {
  KACHI_RETURN_IF_ERROR(sync_->BeginOverlap(model_->grad_data(), model_->compute_dtype()));
  // Each report of final gradients marks the compute stream (device memory) and hands the ready buckets over; the
  // markers stay alive until FinishOverlap has seen every bucket launched after them.
  std::vector<void*> events;
  model_->set_gradients_ready_hook([this, &events](int first_final_tensor) -> absl::Status {
    absl::StatusOr<void*> event = model_->device().RecordEvent();
    if (!event.ok()) return event.status();
    events.push_back(*event);
    return sync_->GradientsReady(first_final_tensor, *event);
  });
  absl::StatusOr<float> loss =
      model_->ForwardBackward(batch.inputs.data(), batch.targets.data(), batch.batch_size, batch.seq_len, grad_scale);
  model_->set_gradients_ready_hook(nullptr);
  // Always finish, even after a failed backward: the launched buckets must be done before anything else touches
  // the data-parallel communicator or the gradients.
  absl::Status reduced = [&] {
    TimelineScope wait(TimelineCategory::kComm, "grad_sync_wait");
    return sync_->FinishOverlap();
  }();
  for (void* event : events) model_->device().ReleaseEvent(event);
  if (!loss.ok()) return loss.status();
  if (!reduced.ok()) return reduced;
  return loss;
}

absl::StatusOr<float> Trainer::Evaluate() {
  if (!eval_loader_.has_value()) return absl::FailedPreconditionError("no validation data configured");
  double total = 0;
  for (int64_t i = 0; i < eval_loader_->num_batches(); ++i) {
    absl::StatusOr<TokenBatch> batch = eval_loader_->Batch(i);
    if (!batch.ok()) return batch.status();
    absl::StatusOr<float> loss =
        model_->Loss(batch->inputs.data(), batch->targets.data(), batch->batch_size, batch->seq_len);
    if (!loss.ok()) return loss.status();
    total += *loss;
  }
  float mean = static_cast<float>(total / static_cast<double>(eval_loader_->num_batches()));
  if (grid_->dp_size() > 1) {
    KACHI_RETURN_IF_ERROR(grid_->dp().AllReduce(&mean, &mean, 1, DType::kFloat32, ReduceOp::kAvg));
  }
  return mean;
}

absl::Status Trainer::Run(std::ostream* log, const AfterStepHook& after_step) {
  const bool leader = grid_->world().rank() == 0;
  std::ofstream metrics;
  if (leader && !options_.metrics_path.empty()) {
    metrics.open(options_.metrics_path, std::ios::app);
    if (!metrics) return absl::PermissionDeniedError(absl::StrCat("cannot write metrics to ", options_.metrics_path));
  }
  std::unique_ptr<EventFileWriter> events;  // TensorBoard's copy of the metrics (rank 0)
  if (leader && !options_.tensorboard_dir.empty()) {
    absl::StatusOr<std::unique_ptr<EventFileWriter>> created = EventFileWriter::Create(options_.tensorboard_dir);
    if (!created.ok()) return created.status();
    events = std::move(*created);
  }
  double elapsed = 0;
  int64_t timed_steps = 0;
  while (step() < options_.steps) {
    StepTimeline* timeline = StepTimeline::ForThisThread();
    if (timeline != nullptr) timeline->BeginStep(step());
    absl::StatusOr<StepResult> result = Step();
    if (!result.ok()) return result.status();
    // The first step warms caches and allocates: leave it out of the ETA.
    if (result->step > 0) {
      elapsed += result->seconds;
      ++timed_steps;
    }
    double stall = 0;
    if (after_step) {
      TimelineScope checkpoint(TimelineCategory::kCheckpoint, "after_step");
      absl::StatusOr<double> hook = after_step(*result);
      if (!hook.ok()) return hook.status();
      stall = *hook;
    }
    if (timeline != nullptr) timeline->EndStep();
    const std::string stall_text = stall > 0 ? absl::StrFormat(" | ckpt stall %.1f ms", stall * 1e3) : "";
    const double per_step = timed_steps > 0 ? elapsed / timed_steps : result->seconds;
    const double tokens_per_s = result->tokens / result->seconds;
    if (leader && log != nullptr && options_.log_every > 0 &&
        (result->step % options_.log_every == 0 || result->step + 1 == options_.steps)) {
      *log << absl::StrFormat("step %5d/%d | loss %.4f | lr %.2e | norm %.3f | %7.1f ms | %8.0f tok/s | ETA %s%s\n",
                              result->step + 1, options_.steps, result->loss, result->lr, result->grad_norm,
                              result->seconds * 1e3, tokens_per_s,
                              FormatDuration(per_step * (options_.steps - result->step - 1)), stall_text);
      log->flush();
    }
    if (metrics.is_open()) {
      metrics << absl::StrFormat(
          "{\"step\": %d, \"loss\": %.6f, \"lr\": %.6e, \"grad_norm\": %.6f, \"ms\": %.3f, \"tokens_per_s\": %.1f%s}\n",
          result->step + 1, result->loss, result->lr, result->grad_norm, result->seconds * 1e3, tokens_per_s,
          stall > 0 ? absl::StrFormat(", \"ckpt_stall_ms\": %.3f", stall * 1e3) : "");
      metrics.flush();
    }
    if (events) {
      std::vector<std::pair<std::string, double>> scalars = {{"loss", result->loss},
                                                             {"lr", result->lr},
                                                             {"grad_norm", result->grad_norm},
                                                             {"ms", result->seconds * 1e3},
                                                             {"tokens_per_s", tokens_per_s}};
      if (stall > 0) scalars.emplace_back("ckpt_stall_ms", stall * 1e3);
      if (auto st = events->WriteScalars(result->step + 1, scalars); !st.ok()) return st;
    }
    const bool last = step() == options_.steps;
    if (eval_loader_.has_value() && (last || (options_.eval_every > 0 && step() % options_.eval_every == 0))) {
      absl::StatusOr<float> val = Evaluate();
      if (!val.ok()) return val.status();
      if (leader && log != nullptr)
        *log << absl::StrFormat("step %5d/%d | val loss %.4f\n", step(), options_.steps, *val);
      if (metrics.is_open()) metrics << absl::StrFormat("{\"step\": %d, \"val_loss\": %.6f}\n", step(), *val);
      if (events) {
        if (auto st = events->WriteScalars(step(), {{"val_loss", *val}}); !st.ok()) return st;
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace kachi
