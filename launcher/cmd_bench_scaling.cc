// `kachi bench scaling`: inside one job of N ranks (mpirun or srun), the configured model on sub-worlds of the first
// 1, 2, 4, ... N ranks, weak and strong, dp / tp / dp x tp (bench/scaling/). Rank 0 prints the table (the slowest
// rank's compute, exposed communication, optimizer, data and checkpoint stall per step; tokens/s, efficiency
// against the 1-rank sub-world, MFU on GPUs), the alpha-beta links fitted to all-reduces timed in the same job, the
// step model's prediction and its error on the held-out points (> 2 ranks), and the projection to a GPU cluster
// (--bench_cluster FILE, else ClusterSpec's defaults). Settings come from --bench_scaling (a ScalingBenchConfig in
// text format: ranks, layouts, modes, steps, batches, sweep, report and jsonl paths); --timeline FILE writes every
// rank's steps as a Chrome trace. Without data.train it trains on random tokens.
#include <sched.h>

#include <cstdio>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "bench/scaling/scaling_bench.h"
#include "bench/scaling/scaling_html.h"
#include "bench/train/synthetic_tokens.h"
#include "comm/mpi_communicator.h"
#include "google/protobuf/text_format.h"
#include "launcher/bootstrap.h"
#include "launcher/commands.h"
#include "launcher/timeline_file.h"
#include "runtime/io/atomic_file.h"
#include "runtime/train/train_config.h"

#if defined(KACHI_WITH_CUDA) && defined(KACHI_HAVE_KERNEL_BENCH_MEMORY)
#include "bench/kernels/kernel_bench.h"
#endif

ABSL_FLAG(std::string, bench_scaling, "",
          "`kachi bench scaling`: its settings, a kachi.config.ScalingBenchConfig in text format "
          "(runtime/proto/scaling.proto), e.g. 'timed_steps: 3 modes: \"weak\" report: \"scaling.html\"'");
ABSL_FLAG(std::string, bench_cluster, "",
          "`kachi bench scaling`: the GPU cluster to project to, a kachi.config.ClusterSpec in text format "
          "(configs/cluster_*.pbtxt); empty: ClusterSpec's defaults (8 x H100 per host, NVLink, 400G InfiniBand)");
ABSL_FLAG(bool, bench_project, true, "`kachi bench scaling`: print the projection to the cluster");

namespace kachi {
namespace {

// CPUs this process may run on.
int AvailableCores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) != 0) return 1;
  return std::max(1, CPU_COUNT(&set));
}

// An id of the physical machine (ranks on emulated hosts share its cores): the kernel's boot id.
uint64_t MachineId() {
  std::ifstream in("/proc/sys/kernel/random/boot_id");
  std::string id;
  std::getline(in, id);
  return std::hash<std::string>{}(id.empty() ? std::string("unknown") : id);
}

// Every rank's `value`, gathered in rank order and renumbered 0, 1, ... by first appearance.
std::vector<int> GatherIndices(uint64_t value, MPI_Comm comm) {
  int size = 1;
  MPI_Comm_size(comm, &size);
  std::vector<uint64_t> all(size);
  MPI_Allgather(&value, 1, MPI_UINT64_T, all.data(), 1, MPI_UINT64_T, comm);
  std::map<uint64_t, int> index;
  std::vector<int> out;
  for (uint64_t v : all) out.push_back(index.emplace(v, static_cast<int>(index.size())).first->second);
  return out;
}

// --bench_scaling's text as a ScalingBenchConfig.
absl::StatusOr<config::ScalingBenchConfig> ScalingFromFlags() {
  config::ScalingBenchConfig scaling;
  if (!google::protobuf::TextFormat::ParseFromString(absl::GetFlag(FLAGS_bench_scaling), &scaling)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--bench_scaling '", absl::GetFlag(FLAGS_bench_scaling),
                     "': not a kachi.config.ScalingBenchConfig in text format (runtime/proto/scaling.proto)"));
  }
  return scaling;
}

// The file named by --bench_cluster as a ClusterSpec (its defaults when no file is named).
absl::StatusOr<config::ClusterSpec> ClusterFromFlags() {
  const std::string path = absl::GetFlag(FLAGS_bench_cluster);
  config::ClusterSpec spec;
  if (path.empty()) return spec;
  absl::StatusOr<std::string> text = ReadWholeFile(path);
  if (!text.ok()) return absl::Status(text.status().code(), absl::StrCat("--bench_cluster: ", text.status().message()));
  if (!google::protobuf::TextFormat::ParseFromString(*text, &spec)) {
    return absl::InvalidArgumentError(absl::StrCat("--bench_cluster ", path, ": not a kachi.config.ClusterSpec in "
                                                   "text format (runtime/proto/scaling.proto)"));
  }
  return spec;
}

// The matmul ceiling for MFU when the CUDA kernels run (measured with cuBLAS), else 0.
double MatmulCeilingTflops(const TrainOptions& base) {
#if defined(KACHI_WITH_CUDA) && defined(KACHI_HAVE_KERNEL_BENCH_MEMORY)
  if (base.kernels == "cuda") {
    absl::StatusOr<KernelBenchCeilings> ceilings = MeasureKernelCeilings();
    if (ceilings.ok()) return ceilings->bf16_matmul_tflops;
    std::fprintf(stderr, "kachi bench scaling: measuring the matmul ceiling failed (%s); no MFU\n",
                 ceilings.status().ToString().c_str());
  }
#endif
  return 0;
}

absl::Status RunScaling(Session& session) {
  const config::KachiConfig& config = session.config;
  absl::StatusOr<config::ScalingBenchConfig> parsed = ScalingFromFlags();
  if (!parsed.ok()) return parsed.status();
  const config::ScalingBenchConfig& scaling = *parsed;
  // Carve from an MPI world with the CPU kernels (host buffers), from the session's world with the CUDA ones.
  std::unique_ptr<Communicator> mpi_world;
  if (session.world_comm->backend() != "mpi" && config.train().kernels() != "cuda") {
    absl::StatusOr<std::unique_ptr<Communicator>> created =
        CreateMpiCommunicator(MPI_COMM_WORLD, session.world_comm->options());
    if (!created.ok()) return created.status();
    mpi_world = std::move(*created);
  }
  Communicator& parent = mpi_world ? *mpi_world : *session.world_comm;
  const int world = parent.size();
  const int ranks_per_node = session.world.local_size > 0 ? session.world.local_size : world;
  // One shape for every point: the vocabulary padded for the widest tp a host holds.
  int widest_tp = 1;
  while (widest_tp * 2 <= std::min(world, ranks_per_node)) widest_tp *= 2;
  config::KachiConfig base_config = config;
  if (!base_config.model().has_preset()) base_config.mutable_model()->set_preset("tiny");
  absl::StatusOr<GptShape> shape = ShapeFromConfig(base_config.model(), widest_tp);
  if (!shape.ok()) return shape.status();
  config::TrainConfig* train = base_config.mutable_train();
  if (!train->has_seq_len()) train->set_seq_len(std::min<int64_t>(shape->context, 64));
  const int64_t micro = scaling.micro_batch() > 0 ? scaling.micro_batch() : train->micro_batch();
  train->set_micro_batch(micro);
  train->set_global_batch(micro);
  train->set_eval_windows(0);
  train->clear_metrics();
  // Random tokens when no data is configured: enough windows for the largest global batch at every step.
  std::optional<SyntheticTokenShard> shard;
  if (base_config.data().train().empty()) {
    const int64_t largest = std::max<int64_t>(scaling.global_batch(), micro * world);
    const int64_t windows = largest * (scaling.warmup_steps() + scaling.timed_steps() + 2) + 1;
    absl::StatusOr<SyntheticTokenShard> created =
        SyntheticTokenShard::Create(windows * (train->seq_len() + 1), shape->vocab_size, 1234);
    if (!created.ok()) return created.status();
    shard.emplace(*std::move(created));
    base_config.mutable_data()->set_train(shard->path());
    base_config.mutable_data()->clear_val();
  }
  absl::StatusOr<TrainOptions> base = TrainOptionsFromConfig(base_config, ParallelLayout{1, 1, config.parallel().zero1()});
  if (!base.ok()) return base.status();
  base->shape = *shape;
  if (base->kernels == "cuda") {
    if (session.device < 0) return absl::FailedPreconditionError("train.kernels = \"cuda\" but this rank has no GPU");
    base->device = session.device;
  }
  absl::StatusOr<config::ClusterSpec> cluster = ClusterFromFlags();
  if (!cluster.ok()) return cluster.status();

  const std::string timeline_path = absl::GetFlag(FLAGS_timeline);
  StepTimeline timeline;
  ScalingBenchSetup setup;
  setup.run.parent = &parent;
  setup.run.job = MPI_COMM_WORLD;
  setup.run.ranks_per_node = ranks_per_node;
  setup.run.host = session.world.node_name;
  setup.run.host_of_rank = GatherIndices(static_cast<uint64_t>(session.world.node_index), MPI_COMM_WORLD);
  setup.run.machine_of_rank = GatherIndices(MachineId(), MPI_COMM_WORLD);
  setup.run.base = *base;
  setup.run.warmup_steps = static_cast<int>(scaling.warmup_steps());
  setup.run.timed_steps = static_cast<int>(scaling.timed_steps());
  setup.run.checkpoint_config = config.checkpoint().dir().empty() ? nullptr : &config;
  setup.run.timeline = &timeline;
  setup.run.matmul_tflops = MatmulCeilingTflops(*base);
  setup.cores_per_machine = AvailableCores();
  setup.scaling = scaling;
  setup.project = absl::GetFlag(FLAGS_bench_project);
  setup.cluster = *cluster;
  const int hosts = *std::max_element(setup.run.host_of_rank.begin(), setup.run.host_of_rank.end()) + 1;
  const int machines = *std::max_element(setup.run.machine_of_rank.begin(), setup.run.machine_of_rank.end()) + 1;
  setup.title = absl::StrFormat("kachi bench scaling: %s (%.2fM parameters), seq %d, %s kernels %s, %s", 
                                DescribeShape(*shape), shape->num_parameters() / 1e6, base->seq_len, base->kernels,
                                base->precision, parent.backend());
  const bool leader = parent.rank() == 0;
  if (leader) {
    std::cout << absl::StrFormat("# %s\n# %d ranks on %d host(s), %d per host, %d physical machine(s) with %d cores "
                                 "each; %d warmup + %d timed steps per point\n",
                                 setup.title, world, hosts, ranks_per_node, machines, setup.cores_per_machine,
                                 setup.run.warmup_steps, setup.run.timed_steps);
    std::cout.flush();
  }
  setup.progress = &std::cout;
  absl::StatusOr<ScalingReport> report = RunScalingBench(setup);
  if (!report.ok()) return report.status();
  if (!timeline_path.empty()) {
    if (auto st = WriteTimelineFile(timeline, MPI_COMM_WORLD, timeline_path); !st.ok()) return st;
  }
  if (!leader) return absl::OkStatus();
  report->setup = absl::StrFormat("%d ranks on %d host(s) (%d per host), %d physical machine(s) with %d cores; "
                                  "%d warmup + %d timed steps per point and round, %d round(s) (the %s "
                                  "step over all rounds is shown)",
                                  world, hosts, ranks_per_node, machines, setup.cores_per_machine,
                                  setup.run.warmup_steps, setup.run.timed_steps, std::max<int>(1, scaling.rounds()),
                                  scaling.statistic());
  PrintScalingReport(*report, std::cout);
  if (!scaling.jsonl().empty()) {
    if (auto st = WriteFileAtomically(scaling.jsonl(), ScalingJsonLines(*report)); !st.ok()) return st;
    std::cout << "# json lines: " << scaling.jsonl() << "\n";
  }
  if (!scaling.report().empty()) {
    if (auto st = WriteScalingHtml(*report, scaling.report()); !st.ok()) return st;
    std::cout << "# report: " << scaling.report() << "\n";
  }
  if (!timeline_path.empty()) std::cout << "# timeline: " << timeline_path << "\n";
  std::cout.flush();
  return absl::OkStatus();
}

}  // namespace

int ScalingBenchCommand(const std::vector<std::string>& args) {
  if (!args.empty()) {
    std::fprintf(stderr, "kachi bench scaling takes no positional arguments, got '%s'\n", args.front().c_str());
    return 2;
  }
  absl::StatusOr<std::unique_ptr<Session>> session = BootstrapFromFlags();
  if (!session.ok()) {
    PrintBootstrapError("kachi bench scaling", session.status());
    return 1;
  }
  const absl::Status status = RunScaling(**session);
  if (!status.ok()) {
    std::fprintf(stderr, "kachi bench scaling: rank %d: %s\n", (*session)->world.rank, status.ToString().c_str());
    return 1;
  }
  return 0;
}

}  // namespace kachi
