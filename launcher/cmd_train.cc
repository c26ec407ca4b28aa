// `kachi train [CONFIG.pbtxt]`: trains a GPT on every rank of the job as a dp x tp grid (config sections model,
// parallel, train, data, optimizer; --set overrides), printing progress on rank 0 and optionally saving the trained
// weights as Hugging Face GPT-2 safetensors.
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "comm/process_grid.h"
#include "launcher/bootstrap.h"
#include "launcher/commands.h"
#include "launcher/flags.h"
#include "runtime/io/hf_gpt2.h"
#include "runtime/train/train_config.h"
#include "runtime/train/trainer.h"

namespace kachi {
namespace {

// Makes a status that only some ranks saw into an error on every rank (so no rank waits on a failed peer).
absl::Status AgreeOnStatus(Communicator& world, const absl::Status& status) {
  int32_t failed_rank = status.ok() ? -1 : world.rank();
  if (auto st = world.AllReduce(&failed_rank, &failed_rank, 1, DType::kInt32, ReduceOp::kMax); !st.ok()) return st;
  if (!status.ok()) return status;
  if (failed_rank >= 0) return absl::AbortedError(absl::StrCat("rank ", failed_rank, " failed (see its message)"));
  return absl::OkStatus();
}

absl::Status Train(Session& session) {
  Communicator& world = *session.world_comm;
  absl::StatusOr<ParallelLayout> layout = LayoutFromConfig(session.config, world.size());
  if (!layout.ok()) return layout.status();
  absl::StatusOr<TrainOptions> options = TrainOptionsFromConfig(session.config, *layout);
  if (!options.ok()) return options.status();
  const int ranks_per_node = session.world.local_size > 0 ? session.world.local_size : world.size();
  absl::StatusOr<std::unique_ptr<ProcessGrid>> grid = ProcessGrid::Create(world, layout->dp, layout->tp,
                                                                          ranks_per_node);
  if (!grid.ok()) return grid.status();
  absl::StatusOr<std::unique_ptr<Trainer>> trainer = Trainer::Create(*options, grid->get());
  if (auto st = AgreeOnStatus(world, trainer.status()); !st.ok()) return st;
  Trainer& t = **trainer;
  if (world.rank() == 0) {
    std::cout << absl::StrFormat(
        "kachi train: %s, %.2fM parameters | dp %d x tp %d%s on %s | global batch %d x %d tokens = micro %d x "
        "accumulation %d x dp %d | %d steps\n",
        DescribeShape(options->shape), options->shape.num_parameters() / 1e6, layout->dp, layout->tp,
        layout->zero1 ? " (ZeRO-1)" : "", session.backend, options->global_batch, options->seq_len,
        options->micro_batch, t.accumulation_steps(), layout->dp, options->steps);
  }
  if (auto st = t.Run(&std::cout); !st.ok()) return st;
  const std::string& save = session.config.train().save_weights();
  if (!save.empty() && (*grid)->dp_rank() == 0) {
    if (auto st = ExportHfGpt2(t.model().layout(), t.model().params(), &(*grid)->tp(), save, HfGpt2Options{},
                               ShapeMetadata(options->shape));
        !st.ok()) {
      return st;
    }
    if (world.rank() == 0) std::cout << "kachi train: weights saved to " << save << "\n";
  }
  return absl::OkStatus();
}

}  // namespace

int TrainCommand(const std::vector<std::string>& args) {
  if (args.size() > 1) {
    std::fprintf(stderr, "usage: kachi train [CONFIG.pbtxt] [--set field=value ...]\n");
    return 2;
  }
  if (!args.empty()) absl::SetFlag(&FLAGS_config, args[0]);
  absl::StatusOr<std::unique_ptr<Session>> session = BootstrapFromFlags();
  if (!session.ok()) {
    std::fprintf(stderr, "kachi train: %s\n", std::string(session.status().message()).c_str());
    return 1;
  }
  const absl::Status status = Train(**session);
  if (!status.ok()) {
    std::fprintf(stderr, "kachi train: rank %d: %s\n", (*session)->world.rank,
                 std::string(status.message()).c_str());
    return 1;
  }
  return 0;
}

}  // namespace kachi
