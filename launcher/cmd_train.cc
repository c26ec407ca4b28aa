// `kachi train [CONFIG.pbtxt] [--resume]`: trains a GPT on every rank of the job as a dp x tp grid (config sections
// model, parallel, train, data, optimizer, checkpoint; --set overrides), printing progress on rank 0, saving sharded
// checkpoints (checkpoint.dir) and optionally the trained weights as Hugging Face GPT-2 safetensors. It starts from
// the latest sound checkpoint with --resume or checkpoint.resume, else from model.init_from weights if given.
// --timeline FILE writes every rank's steps (data, compute, each collective, optimizer, checkpoint) as a Chrome trace.
// --test_ckpt_pause STEP:SECONDS is a test hook (tests/ckpt/kill_test.sh): the save of step STEP pauses mid-write.
#include <mpi.h>

#include <cstdio>
#include <functional>
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "comm/agree.h"
#include "comm/mpi_communicator.h"
#include "comm/process_grid.h"
#include "kernels/base/status_macros.h"
#include "launcher/bootstrap.h"
#include "launcher/commands.h"
#include "launcher/flags.h"
#include "launcher/timeline_file.h"
#include "runtime/ckpt/checkpoint_writer.h"
#include "runtime/ckpt/restore.h"
#include "runtime/io/hf_gpt2.h"
#include "runtime/train/run_paths.h"
#include "runtime/train/train_config.h"
#include "runtime/train/trainer.h"

ABSL_FLAG(bool, resume, false,
          "kachi train: continue from the newest sound checkpoint in checkpoint.dir (as checkpoint.resume)");
ABSL_FLAG(std::string, test_ckpt_pause, "",
          "kachi train, test hook (tests only): STEP:SECONDS makes the checkpoint writer of step STEP's shard sleep "
          "SECONDS halfway through the file, so a test can kill the run mid-save (needs checkpoint.dir)");

namespace kachi {
namespace {

// Payload that marks an error another rank prints (TrainCommand stays silent on it).
constexpr char kQuietPayload[] = "kachi.quiet";

absl::Status Quiet(absl::Status status) {
  status.SetPayload(kQuietPayload, absl::Cord("1"));
  return status;
}

// Collective over `world`: OK when `local` is OK on every rank. Otherwise every rank returns an error, and of the
// ranks that share one message only the lowest returns it unmarked: on N ranks a configuration error is printed
// once, distinct errors (a path missing on one host) once each.
absl::Status AgreeOncePerMessage(Communicator& world, const absl::Status& local) {
  int64_t mine = 0;
  if (!local.ok()) mine = static_cast<int64_t>(std::hash<std::string>()(std::string(local.message())) | 1);
  std::vector<int64_t> all(static_cast<size_t>(world.size()), 0);
  KACHI_RETURN_IF_ERROR(world.AllGather(&mine, all.data(), 1, DType::kInt64));
  if (mine != 0) {
    for (int r = 0; r < world.rank(); ++r) {
      if (all[static_cast<size_t>(r)] == mine) return Quiet(local);
    }
    return local;
  }
  for (int64_t h : all) {
    if (h != 0) return Quiet(absl::AbortedError("start-up stopped by another rank's error"));
  }
  return absl::OkStatus();
}

// The --test_ckpt_pause test hook (off when the flag is empty); InvalidArgument unless it is STEP:SECONDS with
// STEP, SECONDS >= 0 and the run saves checkpoints.
absl::StatusOr<ckpt::CheckpointTestPause> TestPauseFromFlag(const config::KachiConfig& config) {
  const std::string flag = absl::GetFlag(FLAGS_test_ckpt_pause);
  ckpt::CheckpointTestPause pause;
  if (flag.empty()) return pause;
  const size_t colon = flag.find(':');
  if (colon == std::string::npos || !absl::SimpleAtoi(flag.substr(0, colon), &pause.step) ||
      !absl::SimpleAtod(flag.substr(colon + 1), &pause.seconds) || pause.step < 0 || !(pause.seconds >= 0)) {
    return absl::InvalidArgumentError(absl::StrCat("--test_ckpt_pause='", flag, "': expected STEP:SECONDS"));
  }
  if (config.checkpoint().dir().empty()) {
    return absl::InvalidArgumentError("--test_ckpt_pause needs checkpoint.dir: the run saves no checkpoints");
  }
  return pause;
}

// Where training starts: the newest sound checkpoint when resuming (a fresh start when the directory holds none
// yet), else model.init_from weights when given, else the random initialization Trainer::Create made.
absl::Status StartingPoint(Session& session, Trainer& trainer, ProcessGrid& grid) {
  Communicator& world = grid.world();  // the training world (MPI; see Train)
  const config::CheckpointConfig& checkpoint = session.config.checkpoint();
  if (absl::GetFlag(FLAGS_resume) || checkpoint.resume()) {
    if (checkpoint.dir().empty()) {
      return absl::InvalidArgumentError("--resume (or checkpoint.resume) needs checkpoint.dir: it is empty");
    }
    absl::StatusOr<ckpt::RestoreReport> report = ckpt::RestoreTrainer(checkpoint.dir(), trainer, grid, &std::cout);
    if (report.ok()) {
      if (world.rank() == 0) {
        std::cout << "kachi train: resumed from " << report->path << " (step " << report->step << ")\n";
      }
      return absl::OkStatus();
    }
    if (!absl::IsNotFound(report.status())) return report.status();
    if (world.rank() == 0) std::cout << "kachi train: " << report.status().message() << ": starting from step 0\n";
  }
  const std::string& init_from = session.config.model().init_from();
  if (init_from.empty()) return absl::OkStatus();
  GptModel& model = trainer.model();
  std::vector<float> weights(model.buffer_size(), 0.0f);  // host copy: the model may live on a GPU
  absl::Status loaded = LoadHfGpt2(init_from, model.layout(), HfGpt2Options{}, weights.data());
  if (loaded.ok()) loaded = trainer.SetParameters(weights.data());  // and the master weights in mixed precision
  if (auto st = AgreeOnStatus(world, loaded); !st.ok()) {
    return absl::Status(st.code(), absl::StrCat("model.init_from: ", st.message()));
  }
  if (world.rank() == 0) std::cout << "kachi train: initial weights from " << init_from << "\n";
  return absl::OkStatus();
}

// Resolves an unset train.kernels in `session.config` (DefaultKernels: "cuda" when every rank of the job has a GPU
// bound and the model takes the CUDA kernels, else "cpu"); returns the note for the start line: the kernels, and
// why when they were not set.
std::string ResolveKernels(Session& session) {
  config::TrainConfig& train = *session.config.mutable_train();
  if (train.has_kernels()) return absl::StrCat("kernels ", train.kernels());
  int has_gpu = session.device >= 0 ? 1 : 0;
  int every_rank = 0;
  MPI_Allreduce(&has_gpu, &every_rank, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  const DefaultKernelsChoice choice = DefaultKernels(session.config, every_rank == 1);
  train.set_kernels(choice.kernels);
  return absl::StrCat("kernels ", choice.kernels, " (train.kernels unset: ", choice.reason, ")");
}

absl::Status Train(Session& session) {
  const std::string kernels_note = ResolveKernels(session);
  // The world's backend carries the training collectives when the model lives where it wants its buffers: NCCL
  // with the CUDA kernels (it stages the trainer's small host scalars itself), MPI with any kernels. NCCL with the
  // CPU kernels would get host gradients, so such a run trains over MPI.
  std::unique_ptr<Communicator> mpi_world;
  if (session.world_comm->backend() != "mpi" && session.config.train().kernels() != "cuda") {
    KACHI_ASSIGN_OR_RETURN(mpi_world, CreateMpiCommunicator(MPI_COMM_WORLD, session.world_comm->options()));
    if (mpi_world->rank() == 0) {
      std::cout << "kachi train: collectives over MPI (train.kernels = \"cpu\" keeps the model in host memory, "
                   "which the "
                << session.world_comm->backend() << " backend does not take)\n";
    }
  }
  Communicator& world = mpi_world ? *mpi_world : *session.world_comm;
  // Configuration and path errors before step 1: every rank checks, each distinct message is printed once.
  absl::StatusOr<ParallelLayout> layout = LayoutFromConfig(session.config, world.size());
  absl::StatusOr<TrainOptions> options =
      layout.ok() ? TrainOptionsFromConfig(session.config, *layout) : absl::StatusOr<TrainOptions>(layout.status());
  absl::Status startup = options.status();
  if (startup.ok()) startup = CheckRunPaths(session.config);
  const absl::StatusOr<ckpt::CheckpointTestPause> test_pause = TestPauseFromFlag(session.config);
  if (startup.ok()) startup = test_pause.status();
  KACHI_RETURN_IF_ERROR(AgreeOncePerMessage(world, startup));
  if (options->kernels == "cuda") {
    if (session.device < 0) {
      return absl::FailedPreconditionError("train.kernels = \"cuda\" but this rank has no GPU bound (kachi env)");
    }
    options->device = session.device;
  }
  // TP groups from the host every rank really runs on (discovery), whatever the launcher's mapping.
  KACHI_ASSIGN_OR_RETURN(std::unique_ptr<ProcessGrid> grid,
                         ProcessGrid::Create(world, layout->dp, layout->tp, session.world.node_name));
  if (world.rank() == 0 && !grid->placement().empty()) {
    std::cout << "kachi train: TP groups on hosts: " << grid->placement() << "\n";
  }
  absl::StatusOr<std::unique_ptr<Trainer>> trainer = Trainer::Create(*options, grid.get());
  KACHI_RETURN_IF_ERROR(AgreeOnStatus(world, trainer.status()));
  Trainer& t = **trainer;
  if (world.rank() == 0) {
    std::cout << absl::StrFormat(
        "kachi train: %s, %.2fM parameters | dp %d x tp %d%s on %s | global batch %d x %d tokens = micro %d x "
        "accumulation %d x dp %d | %d steps | %s\n",
        DescribeShape(options->shape), options->shape.num_parameters() / 1e6, layout->dp, layout->tp,
        layout->zero1 ? " (ZeRO-1)" : "", session.backend, options->global_batch, options->seq_len,
        options->micro_batch, t.accumulation_steps(), layout->dp, options->steps, kernels_note);
  }
  KACHI_RETURN_IF_ERROR(StartingPoint(session, t, *grid));
  std::unique_ptr<ckpt::CheckpointWriter> writer;
  if (!session.config.checkpoint().dir().empty()) {
    KACHI_ASSIGN_OR_RETURN(ckpt::CheckpointOptions ckpt_options,
                           ckpt::CheckpointOptionsFromConfig(session.config.checkpoint()));
    ckpt_options.test_pause = *test_pause;
    writer = std::make_unique<ckpt::CheckpointWriter>(ckpt_options, grid.get(), &session.config, &std::cout);
  }
  AfterStepHook save_checkpoint;
  if (writer) save_checkpoint = [&](const StepResult&) { return writer->AfterStep(t); };
  const std::string timeline_path = absl::GetFlag(FLAGS_timeline);
  StepTimeline timeline;
  {
    ScopedTimeline attach(timeline_path.empty() ? nullptr : &timeline);
    KACHI_RETURN_IF_ERROR(t.Run(&std::cout, save_checkpoint));
  }
  if (!timeline_path.empty()) {
    // The grid's world is an MPI communicator over MPI_COMM_WORLD's ranks in order: gather over the job's world.
    KACHI_RETURN_IF_ERROR(WriteTimelineFile(timeline, MPI_COMM_WORLD, timeline_path));
    if (world.rank() == 0) std::cout << "kachi train: timeline written to " << timeline_path << "\n";
  }
  if (writer) {
    KACHI_RETURN_IF_ERROR(writer->Finish());
  }
  const std::string& save = session.config.train().save_weights();
  if (!save.empty()) {
    // Host copy (the model may live on a GPU); the fp32 master in mixed precision (gathered across data-parallel
    // ranks under ZeRO-1: every rank takes part), then the data-parallel rank 0 of each tp rank exports.
    std::vector<float> weights(t.model().buffer_size(), 0.0f);
    KACHI_RETURN_IF_ERROR(t.GetParameters(weights.data()));
    if (grid->dp_rank() != 0) return absl::OkStatus();
    KACHI_RETURN_IF_ERROR(ExportHfGpt2(t.model().layout(), weights.data(), &grid->tp(), save, HfGpt2Options{},
                                       ShapeMetadata(options->shape)));
    if (world.rank() == 0) std::cout << "kachi train: weights saved to " << save << "\n";
  }
  return absl::OkStatus();
}

}  // namespace

int TrainCommand(const std::vector<std::string>& args) {
  if (args.size() > 1) {
    std::fprintf(stderr, "usage: kachi train [CONFIG.pbtxt] [--resume] [--set field=value ...]\n");
    return 2;
  }
  if (!args.empty()) absl::SetFlag(&FLAGS_config, args[0]);
  absl::StatusOr<std::unique_ptr<Session>> session = BootstrapFromFlags();
  if (!session.ok()) {
    PrintBootstrapError("kachi train", session.status());
    return 1;
  }
  const absl::Status status = Train(**session);
  if (!status.ok() && status.GetPayload(kQuietPayload).has_value()) return 1;
  if (!status.ok()) {
    std::fprintf(stderr, "kachi train: rank %d: %s\n", (*session)->world.rank, std::string(status.message()).c_str());
    return 1;
  }
  return 0;
}

}  // namespace kachi
