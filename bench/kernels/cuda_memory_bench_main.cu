// bench_cuda_memory: the cuda_memory family's table (BenchMemoryKernels) beside this GPU's ceilings, measured in the
// same run (KernelBenchMain). Usage: bench_cuda_memory (no arguments); exits 1 with the error on failure.
#include "bench/kernels/kernel_bench.h"

int main() { return kachi::KernelBenchMain("bench_cuda_memory", kachi::BenchMemoryKernels); }
