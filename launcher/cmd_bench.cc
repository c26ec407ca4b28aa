// `kachi bench comm|kernels|train`. `comm [COLLECTIVE...]`: the collective bandwidth sweep of bench/comm/ on the world
// communicator that the bootstrap starts (MPI or NCCL per --backend / comm.backend), printed by rank 0 beside the raw
// MPI or NCCL call. Sweep settings come from the config section bench.comm (--set bench.comm.max_bytes=67108864 ...);
// the reduction and the repeat count, which that section does not hold, from --bench_op and --bench_repeats.
// Positional collective names restrict the sweep to those collectives.
// `kernels [memory|matmul|attention ...]`: one process, no MPI; measures the GPU's ceilings (copy bandwidth, cuBLAS
// bf16 GEMM rate) once, prints them, then each selected CUDA kernel family's table against them (all by default).
// A CPU-only build or a process with no visible GPU prints why and exits 1.
// `train`: one process trains a GPT (model.preset, default gpt2_124m on a GPU, tiny on CPU; --set model.* and
// train.seq_len / train.micro_batch apply) on random tokens for --bench_warmup + --bench_steps steps with kachi's
// Trainer (CUDA kernels in bf16 mixed precision when a GPU is bound, else the CPU kernels in fp32; train.kernels and
// train.precision override), then runs bench/train/gpt2_torch.py at
// the same shape and batch (eager and torch.compile, bf16 autocast; skipped with a message when python, torch or a
// GPU is missing, or with --bench_torch=false) and prints ms/step, tokens/s, MFU, peak memory and kachi / torch.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "bench/comm/comm_bench.h"
#include "bench/comm/comm_bench_options.h"
#include "launcher/bootstrap.h"
#include "comm/mpi_communicator.h"
#include "comm/process_grid.h"
#include "launcher/commands.h"
#include "runtime/train/train_config.h"

#ifdef KACHI_HAVE_TRAIN_BENCH
#include "bench/train/torch_peer.h"
#include "bench/train/train_bench.h"
#include "bench/train/train_bench_report.h"
#include "bench/train/train_flops.h"
#endif

#ifdef KACHI_WITH_CUDA
#include <cuda_runtime.h>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "bench/kernels/kernel_bench.h"
#include "kernels/base/status_macros.h"
#endif

ABSL_FLAG(std::string, bench_op, "sum", "`kachi bench comm`: reduction of all_reduce and reduce_scatter (sum, avg, max)");
ABSL_FLAG(int32_t, bench_repeats, 15,
          "`kachi bench comm`: timed samples per size of kachi and of the raw call (interleaved; the median is shown)");

ABSL_FLAG(int32_t, bench_steps, 5, "`kachi bench train`: timed steps (kachi and each torch mode; the median is shown)");
ABSL_FLAG(int32_t, bench_warmup, 2, "`kachi bench train`: untimed steps before the timed ones (torch.compile compiles here)");
ABSL_FLAG(int32_t, bench_micro_batch, 0,
          "`kachi bench train`: sequences per step for kachi and torch (0: train.micro_batch if set, else 8 on a GPU, "
          "4 on CPU)");
ABSL_FLAG(bool, bench_profile, false,
          "`kachi bench train`: after the timed steps, time every op of one more step (synchronized) and print the "
          "op profile");
ABSL_FLAG(bool, bench_torch, true, "`kachi bench train`: also run the PyTorch peer (bench/train/gpt2_torch.py)");
ABSL_FLAG(std::string, bench_torch_modes, "eager,compile", "`kachi bench train`: the peer's modes (eager, compile)");
ABSL_FLAG(std::string, bench_torch_script, "",
          "`kachi bench train`: the peer script (empty: bench/train/gpt2_torch.py of the source tree); the interpreter "
          "is $KACHI_PYTHON, else python3");
ABSL_FLAG(int32_t, bench_torch_timeout_s, 900, "`kachi bench train`: seconds the peer may run (all modes) before it is stopped");
ABSL_FLAG(double, bench_peak_tflops, 989.0, "`kachi bench train`: dense bf16 peak for MFU (H100 SXM: 989 TFLOP/s)");
ABSL_FLAG(double, bench_matmul_tflops, 0,
          "`kachi bench train`: matmul ceiling for the second MFU column (0: measured with cuBLAS when a GPU is bound "
          "and this build has the kernel benchmarks, else not shown)");
ABSL_FLAG(uint64_t, bench_seed, 1234, "`kachi bench train`: seed of the random tokens and of the initialization");

namespace kachi {
namespace {

// Prints usage to stderr and returns exit code 2.
int BenchUsage(const std::string& problem) {
  std::fprintf(stderr,
               "kachi bench: %s\n"
               "usage: kachi bench comm [all_reduce|reduce_scatter|all_gather|broadcast ...] [--backend=mpi|nccl|auto]\n"
               "       [--bench_op=sum|avg|max] [--bench_repeats=N] [--set bench.comm.FIELD=VALUE ...]\n"
               "       fields: collectives, dtypes, min_bytes, max_bytes, step_factor, warmup_iters, iters, check\n"
               "       kachi bench kernels [memory|matmul|attention ...]   (one process, CUDA build and a GPU;\n"
               "       all families by default, each printed against the ceilings measured first)\n"
               "       kachi bench train [--set model.preset=gpt2_124m] [--bench_steps=N] [--bench_warmup=N]\n"
               "       [--bench_micro_batch=B] [--bench_torch=true|false] [--bench_torch_modes=eager,compile]\n"
               "       [--bench_matmul_tflops=X] [--bench_peak_tflops=989] [--bench_profile]   (one process; PyTorch peer\n"
               "       from $KACHI_PYTHON; --bench_profile adds a per-op time table of one step)\n"
               "       kachi bench scaling [--bench_scaling='FIELD: VALUE ...'] [--bench_cluster FILE] [--timeline FILE]\n"
               "       (inside mpirun/srun: the model on 1, 2, 4, ... ranks, measured, modeled, projected)\n",
               problem.c_str());
  return 2;
}

// `kachi bench comm` with the collectives named in `names` (all configured ones when empty).
int CommBench(const std::vector<std::string>& names) {
  auto session = BootstrapFromFlags();
  if (!session.ok()) {
    PrintBootstrapError("kachi bench comm", session.status());
    return 1;
  }
  absl::StatusOr<CommBenchOptions> options = CommBenchOptionsFromConfig(
      (*session)->config.bench().comm(), absl::GetFlag(FLAGS_bench_op), absl::GetFlag(FLAGS_bench_repeats));
  if (!options.ok()) return BenchUsage(std::string(options.status().message()));
  if (!names.empty()) {
    options->collectives.clear();
    for (const std::string& name : names) {
      absl::StatusOr<CollectiveKind> kind = ParseBenchCollective(name);
      if (!kind.ok()) return BenchUsage(std::string(kind.status().message()));
      options->collectives.push_back(*kind);
    }
  }
  const absl::Status status = RunCommBench(*(*session)->world_comm, MPI_COMM_WORLD, *options, std::cout);
  if (!status.ok()) {
    std::fprintf(stderr, "kachi bench comm: rank %d: %s\n", (*session)->world.rank, status.ToString().c_str());
    return 1;
  }
  return 0;
}

// The kernel families `kachi bench kernels` knows, in the order they run.
constexpr const char* kKernelFamilies[] = {"memory", "matmul", "attention"};

// The families named in `names` in kKernelFamilies' order (all of them when `names` is empty); an unknown name is
// an InvalidArgument that lists the known ones.
absl::StatusOr<std::vector<std::string>> SelectKernelFamilies(const std::vector<std::string>& names) {
  std::vector<std::string> selected;
  for (const std::string& name : names) {
    if (std::find(std::begin(kKernelFamilies), std::end(kKernelFamilies), name) == std::end(kKernelFamilies)) {
      return absl::InvalidArgumentError("unknown kernel family '" + name + "' (available: memory, matmul, attention)");
    }
  }
  for (const char* family : kKernelFamilies) {
    if (names.empty() || std::find(names.begin(), names.end(), family) != names.end()) selected.push_back(family);
  }
  return selected;
}

#if defined(KACHI_WITH_CUDA) && defined(KACHI_HAVE_KERNEL_BENCH_MEMORY)
// One family's table, or Unimplemented when this build did not link that family's benchmark library.
absl::Status RunKernelFamily(const std::string& family, const KernelBenchCeilings& ceilings) {
#ifdef KACHI_HAVE_KERNEL_BENCH_MEMORY
  if (family == "memory") return BenchMemoryKernels(ceilings, std::cout);
#endif
#ifdef KACHI_HAVE_KERNEL_BENCH_MATMUL
  if (family == "matmul") return BenchMatmulKernels(ceilings, std::cout);
#endif
#ifdef KACHI_HAVE_KERNEL_BENCH_ATTENTION
  if (family == "attention") return BenchAttentionKernels(ceilings, std::cout);
#endif
  return absl::UnimplementedError("this build has no benchmark library for the kernel family '" + family +
                                  "' (kernels/cuda_" + family + ".cmake was not configured)");
}
#endif

// `kachi bench kernels` with the families named in `names` (all when empty). Every family runs even when an
// earlier one fails; the exit code is 1 if any failed.
int KernelBench(const std::vector<std::string>& names) {
  absl::StatusOr<std::vector<std::string>> families = SelectKernelFamilies(names);
  if (!families.ok()) return BenchUsage(std::string(families.status().message()));
#if !defined(KACHI_WITH_CUDA)
  std::fprintf(stderr,
               "kachi bench kernels: this kachi is a CPU-only build (no CUDA); the kernel benchmarks need a CUDA "
               "build and a GPU\n");
  return 1;
#elif !defined(KACHI_HAVE_KERNEL_BENCH_MEMORY)
  std::fprintf(stderr,
               "kachi bench kernels: this CUDA build has no kachi_bench_cuda_memory library, which measures the "
               "ceilings every table needs\n");
  return 1;
#else
  int device_count = 0;
  const cudaError_t count_error = cudaGetDeviceCount(&device_count);
  if (count_error != cudaSuccess || device_count == 0) {
    const char* visible = std::getenv("CUDA_VISIBLE_DEVICES");
    std::fprintf(stderr,
                 "kachi bench kernels: no visible GPU (cudaGetDeviceCount: %s, %d devices; CUDA_VISIBLE_DEVICES=%s); "
                 "the kernel benchmarks need one CUDA device\n",
                 count_error == cudaSuccess ? "ok" : cudaGetErrorString(count_error), device_count,
                 visible == nullptr ? "(unset)" : visible);
    return 1;
  }
  cudaDeviceProp properties{};
  if (const cudaError_t error = cudaGetDeviceProperties(&properties, 0); error != cudaSuccess) {
    std::fprintf(stderr, "kachi bench kernels: cudaGetDeviceProperties(0): %s\n", cudaGetErrorString(error));
    return 1;
  }
  absl::StatusOr<KernelBenchCeilings> ceilings = MeasureKernelCeilings();
  if (!ceilings.ok()) {
    std::fprintf(stderr, "kachi bench kernels: measuring the ceilings: %s\n", ceilings.status().ToString().c_str());
    return 1;
  }
  std::cout << absl::StrFormat(
      "# kachi bench kernels: device %s, %d SMs, L2 %d MB; families %s\n"
      "# ceilings: copy %.1f GB/s (1 GiB device-to-device, read + write), bf16 GEMM %.1f TFLOP/s (cuBLAS 8192^3)\n",
      properties.name, properties.multiProcessorCount, properties.l2CacheSize >> 20, absl::StrJoin(*families, ","),
      ceilings->copy_gbps, ceilings->bf16_matmul_tflops);
  std::cout.flush();
  int failures = 0;
  for (const std::string& family : *families) {
    std::cout << "#\n";
    const absl::Status status = RunKernelFamily(family, *ceilings);
    std::cout.flush();
    if (!status.ok()) {
      std::fprintf(stderr, "kachi bench kernels: family %s failed: %s\n", family.c_str(), status.ToString().c_str());
      ++failures;
    }
  }
  return failures == 0 ? 0 : 1;
#endif
}

#ifdef KACHI_HAVE_TRAIN_BENCH
// The bf16 matmul ceiling for the second MFU column: --bench_matmul_tflops, else measured on the bound GPU when the
// kernel benchmarks are linked, else 0 (not shown).
double MatmulCeilingTflops(bool on_gpu) {
  const double given = absl::GetFlag(FLAGS_bench_matmul_tflops);
  if (given > 0 || !on_gpu) return given;
#if defined(KACHI_WITH_CUDA) && defined(KACHI_HAVE_KERNEL_BENCH_MEMORY)
  absl::StatusOr<KernelBenchCeilings> ceilings = MeasureKernelCeilings();
  if (ceilings.ok()) return ceilings->bf16_matmul_tflops;
  std::fprintf(stderr, "kachi bench train: measuring the matmul ceiling failed (%s); MFU/ceil not shown\n",
               ceilings.status().ToString().c_str());
#endif
  return 0;
}

// The benchmark's options from the session: model preset (default by device), seq_len, micro-batch, kernels.
absl::StatusOr<TrainBenchOptions> TrainBenchOptionsFor(const Session& session) {
  const bool on_gpu = session.device >= 0;
  config::ModelConfig model = session.config.model();
  if (!model.has_preset()) model.set_preset(on_gpu ? "gpt2_124m" : "tiny");
  KACHI_ASSIGN_OR_RETURN(GptShape shape, ShapeFromConfig(model, 1));
  const config::TrainConfig& train = session.config.train();
  TrainBenchOptions options;
  options.shape = shape;
  options.seq_len = train.has_seq_len() ? train.seq_len() : shape.context;
  const int32_t micro_batch = absl::GetFlag(FLAGS_bench_micro_batch);
  options.micro_batch = micro_batch > 0 ? micro_batch : train.has_micro_batch() ? train.micro_batch() : on_gpu ? 32 : 4;
  options.warmup_steps = absl::GetFlag(FLAGS_bench_warmup);
  options.timed_steps = absl::GetFlag(FLAGS_bench_steps);
  options.kernels = train.has_kernels() ? train.kernels() : on_gpu ? "cuda" : "cpu";
  if (options.kernels == "cuda" && !on_gpu) {
    return absl::FailedPreconditionError("train.kernels = \"cuda\" but this process has no GPU bound (kachi env)");
  }
  // Mixed precision on the GPU unless the config says otherwise (the peer trains under bf16 autocast).
  options.precision = train.has_precision() ? train.precision() : options.kernels == "cuda" ? "bf16" : "fp32";
  options.activation_recompute = train.activation_recompute();
  options.profile = absl::GetFlag(FLAGS_bench_profile);
  options.device = session.device;
  options.seed = absl::GetFlag(FLAGS_bench_seed);
  options.peak_tflops = absl::GetFlag(FLAGS_bench_peak_tflops);
  options.matmul_tflops = MatmulCeilingTflops(options.kernels == "cuda");
  return options;
}

// kachi's run, then the peer's, then the table.
absl::Status RunTrainBench(Session& session) {
  Communicator& world = *session.world_comm;
  if (world.size() != 1) {
    return absl::InvalidArgumentError(absl::StrCat("kachi bench train runs on one process; this job has ", world.size(),
                                                   " ranks (run it without mpirun, or with -np 1)"));
  }
  KACHI_ASSIGN_OR_RETURN(TrainBenchOptions options, TrainBenchOptionsFor(session));
  // The grid runs on MPI whatever the session's backend: the trainer's small host-side collectives (loss, norms)
  // pass host buffers, which the NCCL backend rejects, and one process needs no device collective.
  KACHI_ASSIGN_OR_RETURN(std::unique_ptr<Communicator> mpi_world,
                         CreateMpiCommunicator(MPI_COMM_WORLD, CommOptions{absl::Seconds(300), "bench_train"}));
  KACHI_ASSIGN_OR_RETURN(std::unique_ptr<ProcessGrid> grid, ProcessGrid::Create(*mpi_world, 1, 1, /*host=*/""));
  std::string device_name = "CPU";
#ifdef KACHI_WITH_CUDA
  cudaDeviceProp properties{};
  if (options.device >= 0 && cudaGetDeviceProperties(&properties, options.device) == cudaSuccess) {
    device_name = properties.name;
  }
#endif
  const int64_t flops = TrainFlopsPerToken(options.shape, options.seq_len);
  std::cout << absl::StrFormat(
      "# kachi bench train: %s, %.2fM parameters | micro-batch %d x %d tokens, no accumulation | kachi kernels %s "
      "(%s) on %s | %d warmup + %d timed steps, random tokens (seed %d)\n"
      "# FLOPs/token = 6 x (parameters - position embedding) + 12 x layers x width x T = %.4f G; MFU/peak vs %.1f "
      "TFLOP/s (dense bf16), MFU/ceil vs %s\n",
      DescribeShape(options.shape), options.shape.num_parameters() / 1e6, options.micro_batch, options.seq_len,
      options.kernels,
      absl::StrCat(options.precision == "bf16" ? "bf16 mixed precision" : "fp32",
                   options.activation_recompute ? ", activation recompute" : ""),
      device_name, options.warmup_steps, options.timed_steps, options.seed, flops / 1e9, options.peak_tflops,
      options.matmul_tflops > 0 ? absl::StrFormat("%.1f TFLOP/s (measured bf16 GEMM)", options.matmul_tflops)
                                : std::string("(no ceiling given)"));
  std::cout.flush();
  KACHI_ASSIGN_OR_RETURN(TrainBenchResult kachi, RunKachiTrainBench(options, grid.get()));
  std::cout << absl::StrFormat("# kachi: %.2f ms/step, %.0f tokens/s, loss %.4f -> %.4f%s\n", kachi.ms_per_step,
                               kachi.tokens_per_s, kachi.first_loss, kachi.last_loss,
                               absl::GetFlag(FLAGS_bench_torch) ? " (the torch peer next)" : "");
  PrintOpProfile(kachi, std::cout);
  std::cout.flush();
  TorchPeerReport peer;
  if (!absl::GetFlag(FLAGS_bench_torch)) {
    peer.unavailable = "not run (--bench_torch=false)";
  } else {
    TorchPeerOptions torch;
    torch.python = DefaultTorchPython();
    torch.script = absl::GetFlag(FLAGS_bench_torch_script).empty() ? DefaultTorchScript()
                                                                  : absl::GetFlag(FLAGS_bench_torch_script);
    torch.shape = options.shape;
    torch.seq_len = options.seq_len;
    torch.batch = options.micro_batch;
    torch.warmup_steps = options.warmup_steps;
    torch.timed_steps = options.timed_steps;
    torch.modes = absl::StrSplit(absl::GetFlag(FLAGS_bench_torch_modes), ',', absl::SkipEmpty());
    torch.peak_tflops = options.peak_tflops;
    torch.matmul_tflops = options.matmul_tflops;
    torch.seed = options.seed;
    torch.timeout_s = absl::GetFlag(FLAGS_bench_torch_timeout_s);
    KACHI_ASSIGN_OR_RETURN(peer, RunTorchPeer(torch, &std::cout));
  }
  PrintTrainBenchTable(kachi, peer, std::cout);
  std::cout.flush();
  if (peer.results.empty() && !peer.errors.empty()) {
    return absl::InternalError("every torch mode failed (see '# torch mode failed' above)");
  }
  return absl::OkStatus();
}
#endif

// `kachi bench train` (no positional arguments).
int TrainBench(const std::vector<std::string>& args) {
  if (!args.empty()) return BenchUsage("`kachi bench train` takes no positional arguments, got '" + args.front() + "'");
#ifndef KACHI_HAVE_TRAIN_BENCH
  std::fprintf(stderr, "kachi bench train: this build has no kachi_bench_train library (bench/train/)\n");
  return 1;
#else
  absl::StatusOr<std::unique_ptr<Session>> session = BootstrapFromFlags();
  if (!session.ok()) {
    PrintBootstrapError("kachi bench train", session.status());
    return 1;
  }
  const absl::Status status = RunTrainBench(**session);
  if (!status.ok()) {
    std::fprintf(stderr, "kachi bench train: %s\n", status.ToString().c_str());
    return 1;
  }
  return 0;
#endif
}

}  // namespace

int BenchCommand(const std::vector<std::string>& args) {
  if (args.empty()) return BenchUsage("missing benchmark name (available: comm, kernels, train, scaling)");
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  if (args.front() == "comm") return CommBench(rest);
  if (args.front() == "kernels") return KernelBench(rest);
  if (args.front() == "train") return TrainBench(rest);
  if (args.front() == "scaling") return ScalingBenchCommand(rest);
  return BenchUsage("unknown benchmark '" + args.front() + "' (available: comm, kernels, train, scaling)");
}

}  // namespace kachi
