// Collective restore with fallback past damaged checkpoints (see restore.h).
#include "runtime/ckpt/restore.h"

#include <iostream>
#include <vector>

#include "absl/strings/str_cat.h"
#include "kernels/base/status_macros.h"
#include "runtime/ckpt/checkpoint_paths.h"
#include "runtime/ckpt/manifest.h"
#include "runtime/ckpt/verify.h"

namespace kachi::ckpt {
namespace {

// Every rank learns the lowest rank whose `failed` is true (-1 when none).
absl::StatusOr<int64_t> FirstFailingRank(Communicator& world, bool failed) {
  // MAX of (size - rank) picks the lowest failing rank.
  int64_t value = failed ? world.size() - world.rank() : 0;
  KACHI_RETURN_IF_ERROR(world.AllReduce(&value, &value, 1, DType::kInt64, ReduceOp::kMax));
  return value == 0 ? -1 : world.size() - value;
}

}  // namespace

absl::Status LoadIntoTrainer(const CheckpointReader& reader, Trainer& trainer) {
  const Manifest& manifest = reader.manifest();
  GptModel& model = trainer.model();
  DeviceContext& device = model.device();
  ShardedAdamW& optimizer = trainer.optimizer();
  // Assemble the fp32 parameters on the host; the trainer sets them (and, in mixed precision, its master weights and
  // their rounded working copy); then one upload per moment buffer.
  std::vector<float> params(model.buffer_size(), 0.0f);
  KACHI_RETURN_IF_ERROR(reader.LoadParameters(model.layout(), params.data()));
  KACHI_RETURN_IF_ERROR(trainer.SetParameters(params.data()));
  const size_t moments = static_cast<size_t>(optimizer.first_moment().size());
  std::vector<float> m(moments, 0.0f), v(moments, 0.0f);
  KACHI_RETURN_IF_ERROR(reader.LoadMoments(model.layout(), optimizer.range(), m.data(), v.data()));
  KACHI_RETURN_IF_ERROR(device.Upload(optimizer.first_moment().data(), m.data(), moments * sizeof(float)));
  KACHI_RETURN_IF_ERROR(device.Upload(optimizer.second_moment().data(), v.data(), moments * sizeof(float)));
  optimizer.set_steps_taken(manifest.optimizer_steps());
  if (auto st = trainer.train_loader().Restore(LoaderStateFromProto(manifest.loader())); !st.ok()) {
    return absl::Status(st.code(), absl::StrCat("checkpoint '", reader.path(), "': ", st.message()));
  }
  return absl::OkStatus();
}

absl::StatusOr<RestoreReport> RestoreTrainer(const std::string& dir, Trainer& trainer, ProcessGrid& grid,
                                             std::ostream* log) {
  Communicator& world = grid.world();
  // Rank 0 lists the candidates; everyone tries them in that order.
  std::vector<int64_t> candidates;
  if (world.rank() == 0) candidates = LoadCandidates(dir);
  int64_t count = static_cast<int64_t>(candidates.size());
  KACHI_RETURN_IF_ERROR(world.Broadcast(&count, 1, DType::kInt64, 0));
  candidates.resize(static_cast<size_t>(count));
  if (count > 0) {
    KACHI_RETURN_IF_ERROR(world.Broadcast(candidates.data(), candidates.size(), DType::kInt64, 0));
  }
  if (count == 0) return absl::NotFoundError(absl::StrCat("no checkpoint (step_* directory) in '", dir, "'"));

  std::ostream& out = world.rank() == 0 && log != nullptr ? *log : std::cerr;
  RestoreReport report;
  for (int64_t step : candidates) {
    const std::string path = StepDirPath(dir, step);
    std::string problem;
    absl::StatusOr<CheckpointReader> reader = CheckpointReader::Open(path);
    if (!reader.ok()) {
      problem = std::string(reader.status().message());  // every rank sees it; rank 0 reports it
      if (world.rank() != 0) problem.clear();
    } else if (auto problems = VerifyShards(path, reader->manifest(), world.rank(), world.size()); !problems.empty()) {
      problem = problems.front();
    }
    KACHI_ASSIGN_OR_RETURN(int64_t failing, FirstFailingRank(world, !reader.ok() || !problem.empty()));
    if (failing >= 0) {
      if (!problem.empty()) {
        out << "kachi ckpt: rank " << world.rank() << ": skipping " << path << ": " << problem << "\n";
        out.flush();
      }
      report.skipped.push_back(absl::StrCat(
          path, ": ", problem.empty() ? absl::StrCat("damaged (reported by rank ", failing, ")") : problem));
      continue;
    }
    absl::Status loaded = LoadIntoTrainer(*reader, trainer);
    // A validated manifest that still misses a piece is damaged, never "no checkpoint" (which starts from step 0).
    if (absl::IsNotFound(loaded)) loaded = absl::DataLossError(loaded.message());
    KACHI_ASSIGN_OR_RETURN(int64_t load_failing, FirstFailingRank(world, !loaded.ok()));
    KACHI_RETURN_IF_ERROR(loaded);
    if (load_failing >= 0) {
      return absl::AbortedError(
          absl::StrCat("loading '", path, "' failed on rank ", load_failing, " (see its message)"));
    }
    report.path = path;
    report.step = reader->manifest().step();
    return report;
  }
  return absl::DataLossError(absl::StrCat("no loadable checkpoint in '", dir, "': all ", candidates.size(),
                                          " step directories are damaged or incomplete"));
}

}  // namespace kachi::ckpt
