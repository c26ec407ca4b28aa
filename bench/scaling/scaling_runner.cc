// One point of `kachi bench scaling` on a carved sub-world (see scaling_runner.h).
#include "bench/scaling/scaling_runner.h"

#include <algorithm>
#include <memory>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "bench/train/train_flops.h"
#include "comm/agree.h"
#include "bench/scaling/quiet_wait.h"
#include "comm/process_grid.h"
#include "runtime/ckpt/checkpoint_writer.h"
#include "runtime/train/trainer.h"

namespace kachi {
namespace {

// Doubles per step in the gather: total, compute, comm, optimizer, data, checkpoint.
constexpr int kFields = 6;

void PackBreakdown(const StepBreakdown& b, double* out) {
  out[0] = b.total_s;
  out[1] = b.compute_s;
  out[2] = b.comm_s;
  out[3] = b.optimizer_s;
  out[4] = b.data_s;
  out[5] = b.checkpoint_s;
}

StepBreakdown UnpackBreakdown(const double* in) {
  StepBreakdown b;
  b.total_s = in[0];
  b.compute_s = in[1];
  b.comm_s = in[2];
  b.optimizer_s = in[3];
  b.data_s = in[4];
  b.checkpoint_s = in[5];
  return b;
}

// "dp" for "world/carve0/dp", "world" when the name has no group suffix.
std::string GroupOf(const std::string& comm_name) {
  const size_t slash = comm_name.rfind('/');
  const std::string last = slash == std::string::npos ? comm_name : comm_name.substr(slash + 1);
  return last == "dp" || last == "tp" ? last : "world";
}

// The member's part: trains warmup + timed steps on `grid`, fills `timed` (kFields per timed step) and the
// collectives of the last step.
absl::Status RunMember(const ScalingRunContext& ctx, const ScalingPoint& point, ProcessGrid& grid, bool probe,
                       MPI_Comm members, std::vector<double>* timed, std::vector<CollectiveCall>* schedule) {
  TrainOptions options = ctx.base;
  options.global_batch = point.global_batch;
  options.micro_batch = point.micro_batch;
  options.steps = ctx.warmup_steps + ctx.timed_steps;
  options.log_every = 0;
  options.eval_windows = 0;
  options.val_pattern.clear();
  options.metrics_path.clear();
  absl::StatusOr<std::unique_ptr<Trainer>> created = Trainer::Create(options, &grid);
  if (probe) {
    // Probe members share no collective: agree that every trainer exists, which also starts their steps together
    // (a small model's steps are shorter than the members' skew from creating their trainers).
    int everywhere = created.ok() ? 1 : 0;
    MPI_Allreduce(MPI_IN_PLACE, &everywhere, 1, MPI_INT, MPI_MIN, members);
    if (!everywhere) {
      return created.ok() ? absl::AbortedError("another probe rank failed to create its trainer") : created.status();
    }
  }
  if (auto st = AgreeOnStatus(grid.world(), created.status(), "creating the trainer"); !st.ok()) return st;
  Trainer& trainer = **created;
  std::unique_ptr<ckpt::CheckpointWriter> writer;
  if (!probe && ctx.checkpoint_config != nullptr && !ctx.checkpoint_config->checkpoint().dir().empty()) {
    config::CheckpointConfig section = ctx.checkpoint_config->checkpoint();
    section.set_dir(absl::StrFormat("%s/%dr_%s_%s", section.dir(), point.ranks, ScalingLayoutName(point.layout),
                                    ScalingModeName(point.mode)));
    absl::StatusOr<ckpt::CheckpointOptions> ckpt_options = ckpt::CheckpointOptionsFromConfig(section);
    if (!ckpt_options.ok()) return ckpt_options.status();
    writer = std::make_unique<ckpt::CheckpointWriter>(*ckpt_options, &grid, ctx.checkpoint_config);
  }
  StepTimeline local;
  StepTimeline& timeline = ctx.timeline != nullptr && !probe ? *ctx.timeline : local;
  ScopedTimeline attach(&timeline);
  const size_t first_breakdown = timeline.steps().size();
  size_t last_step_events = 0;
  const int steps = ctx.warmup_steps + ctx.timed_steps;
  absl::Status status;
  for (int i = 0; i < steps && status.ok(); ++i) {
    if (i + 1 == steps) last_step_events = timeline.events().size();
    timeline.BeginStep(i);
    absl::StatusOr<StepResult> step = trainer.Step();
    if (!step.ok()) {
      status = step.status();
    } else if (trainer.model().ops().device_memory()) {
      TimelineScope wait(&timeline, TimelineCategory::kCompute, "device_synchronize");
      status = trainer.model().ops().Synchronize();
    }
    if (status.ok() && writer != nullptr) {
      TimelineScope save(&timeline, TimelineCategory::kCheckpoint, "checkpoint_stall");
      status = writer->AfterStep(trainer).status();
    }
    timeline.EndStep();
  }
  if (status.ok() && writer != nullptr) status = writer->Finish();
  if (!status.ok()) return status;
  const std::vector<StepBreakdown>& breakdowns = timeline.steps();
  for (int i = 0; i < ctx.timed_steps; ++i) {
    PackBreakdown(breakdowns[first_breakdown + ctx.warmup_steps + i], timed->data() + i * kFields);
  }
  const std::vector<TimelineEvent>& events = timeline.events();
  for (size_t i = last_step_events; i < events.size(); ++i) {
    const TimelineEvent& event = events[i];
    if (event.bytes < 0) continue;
    CollectiveCall call;
    static const std::pair<absl::string_view, CollectiveKind> kKinds[] = {
        {"all_reduce", CollectiveKind::kAllReduce}, {"reduce_scatter", CollectiveKind::kReduceScatter},
        {"all_gather", CollectiveKind::kAllGather}, {"broadcast", CollectiveKind::kBroadcast},
        {"barrier", CollectiveKind::kBarrier},      {"split", CollectiveKind::kSplit}};
    for (const auto& [name, kind] : kKinds) {
      if (event.name == name) call.kind = kind;
    }
    call.group = GroupOf(event.comm);
    call.ranks = event.group_size;
    call.bytes = event.bytes;
    call.seconds = absl::ToDoubleSeconds(event.duration);
    schedule->push_back(call);
  }
  return absl::OkStatus();
}

// MeasurePoint and MeasureComputeProbe: `probe` runs every member on a grid of its own (no collectives).
absl::StatusOr<MeasuredPoint> Measure(const ScalingRunContext& ctx, const ScalingPoint& point, bool probe) {
  if (ctx.timed_steps < 1 || ctx.warmup_steps < 0) {
    return absl::InvalidArgumentError(absl::StrCat("bench.scaling: ", ctx.timed_steps, " timed and ",
                                                   ctx.warmup_steps, " warmup steps; expected >= 1 and >= 0"));
  }
  const int rank = ctx.parent->rank();
  const int world = ctx.parent->size();
  const bool member = rank < point.ranks;
  absl::StatusOr<std::unique_ptr<ProcessGrid>> grid =
      ProcessGrid::Carve(*ctx.parent, member ? (probe ? rank : 0) : -1, probe ? 1 : point.tp, ctx.host);
  if (!grid.ok()) return grid.status();  // the same error on every rank
  MPI_Comm members = MPI_COMM_NULL;
  MPI_Comm_split(ctx.job, member ? 0 : MPI_UNDEFINED, rank, &members);
  std::vector<double> timed(static_cast<size_t>(ctx.timed_steps) * kFields, 0.0);
  std::vector<CollectiveCall> schedule;
  absl::Status status;
  if (member) {
    ScalingPoint own = point;
    if (probe) own.dp = own.tp = 1, own.global_batch = own.micro_batch;
    status = RunMember(ctx, own, **grid, probe, members, &timed, &schedule);
  }
  if (members != MPI_COMM_NULL) MPI_Comm_free(&members);
  grid->reset();
  QuietBarrier(ctx.job);  // idle ranks sleep here while the members run
  int ok = status.ok() ? 1 : 0;
  MPI_Allreduce(MPI_IN_PLACE, &ok, 1, MPI_INT, MPI_MIN, ctx.job);
  if (!ok) {
    if (!status.ok()) return absl::Status(status.code(), absl::StrCat(point.Label(), ": ", status.message()));
    return absl::AbortedError(absl::StrCat(point.Label(), ": another rank failed (its message names the cause)"));
  }
  std::vector<double> all(rank == 0 ? timed.size() * world : 0);
  MPI_Gather(timed.data(), static_cast<int>(timed.size()), MPI_DOUBLE, all.data(), static_cast<int>(timed.size()),
             MPI_DOUBLE, 0, ctx.job);
  MeasuredPoint result;
  result.point = point;
  if (rank != 0) return result;
  // Per timed step, the slowest rank's breakdown; then the median step by that total.
  std::vector<std::pair<StepBreakdown, int>> slowest;
  for (int i = 0; i < ctx.timed_steps; ++i) {
    int worst = 0;
    for (int r = 1; r < point.ranks; ++r) {
      if (all[(r * ctx.timed_steps + i) * kFields] > all[(worst * ctx.timed_steps + i) * kFields]) worst = r;
    }
    slowest.emplace_back(UnpackBreakdown(&all[(worst * ctx.timed_steps + i) * kFields]), worst);
    result.step_totals.push_back(slowest.back().first.total_s);
    result.steps.push_back(slowest.back().first);
    result.step_ranks.push_back(worst);
  }
  std::sort(slowest.begin(), slowest.end(),
            [](const auto& a, const auto& b) { return a.first.total_s < b.first.total_s; });
  const auto& median = slowest[slowest.size() / 2];
  result.median = median.first;
  result.slowest_rank = median.second;
  const double tokens = static_cast<double>(point.global_batch * ctx.base.seq_len);
  result.tokens_per_s = result.median.total_s > 0 ? tokens / result.median.total_s : 0;
  if (ctx.matmul_tflops > 0) {
    result.mfu = ModelFlopsUtilization(TrainFlopsPerToken(ctx.base.shape, ctx.base.seq_len), result.tokens_per_s,
                                       ctx.matmul_tflops * point.ranks);
  }
  std::set<int> hosts;
  std::vector<int> per_machine;
  for (int r = 0; r < point.ranks; ++r) {
    if (r < static_cast<int>(ctx.host_of_rank.size())) hosts.insert(ctx.host_of_rank[r]);
    if (r < static_cast<int>(ctx.machine_of_rank.size())) {
      const int machine = ctx.machine_of_rank[r];
      if (machine >= static_cast<int>(per_machine.size())) per_machine.resize(machine + 1, 0);
      ++per_machine[machine];
    }
  }
  result.hosts = std::max<int>(1, hosts.size());
  result.ranks_per_machine =
      per_machine.empty() ? point.ranks : *std::max_element(per_machine.begin(), per_machine.end());
  result.schedule = std::move(schedule);
  return result;
}

}  // namespace

absl::StatusOr<MeasuredPoint> MeasurePoint(const ScalingRunContext& ctx, const ScalingPoint& point) {
  return Measure(ctx, point, /*probe=*/false);
}

absl::StatusOr<MeasuredPoint> MeasureComputeProbe(const ScalingRunContext& ctx, int ranks, int64_t micro_batch) {
  ScalingPoint point;
  point.ranks = ranks;
  point.dp = ranks;  // for the label and the token count: `ranks` replicas of micro_batch sequences
  point.micro_batch = micro_batch;
  point.global_batch = micro_batch * ranks;
  return Measure(ctx, point, /*probe=*/true);
}

}  // namespace kachi
