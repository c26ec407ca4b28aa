// `kachi bench comm|kernels`. `comm [COLLECTIVE...]`: the collective bandwidth sweep of bench/comm/ on the world
// communicator that the bootstrap starts (MPI or NCCL per --backend / comm.backend), printed by rank 0 beside the raw
// MPI or NCCL call. Sweep settings come from the config section bench.comm (--set bench.comm.max_bytes=67108864 ...);
// the reduction and the repeat count, which that section does not hold, from --bench_op and --bench_repeats.
// Positional collective names restrict the sweep to those collectives.
// `kernels [memory|matmul|attention ...]`: one process, no MPI; measures the GPU's ceilings (copy bandwidth, cuBLAS
// bf16 GEMM rate) once, prints them, then each selected CUDA kernel family's table against them (all by default).
// A CPU-only build or a process with no visible GPU prints why and exits 1.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_join.h"
#include "bench/comm/comm_bench.h"
#include "bench/comm/comm_bench_options.h"
#include "launcher/bootstrap.h"
#include "launcher/commands.h"

#ifdef KACHI_WITH_CUDA
#include <cuda_runtime.h>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "bench/kernels/kernel_bench.h"
#endif

ABSL_FLAG(std::string, bench_op, "sum", "`kachi bench comm`: reduction of all_reduce and reduce_scatter (sum, avg, max)");
ABSL_FLAG(int32_t, bench_repeats, 15,
          "`kachi bench comm`: timed samples per size of kachi and of the raw call (interleaved; the median is shown)");

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
               "       all families by default, each printed against the ceilings measured first)\n",
               problem.c_str());
  return 2;
}

// `kachi bench comm` with the collectives named in `names` (all configured ones when empty).
int CommBench(const std::vector<std::string>& names) {
  auto session = BootstrapFromFlags();
  if (!session.ok()) {
    std::fprintf(stderr, "kachi bench comm: %s\n", std::string(session.status().message()).c_str());
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

}  // namespace

int BenchCommand(const std::vector<std::string>& args) {
  if (args.empty()) return BenchUsage("missing benchmark name (available: comm, kernels)");
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  if (args.front() == "comm") return CommBench(rest);
  if (args.front() == "kernels") return KernelBench(rest);
  return BenchUsage("unknown benchmark '" + args.front() + "' (available: comm, kernels)");
}

}  // namespace kachi
