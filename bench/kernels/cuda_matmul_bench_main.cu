// bench_cuda_matmul: the cuda_matmul family's table (BenchMatmulKernels) beside this GPU's ceilings, measured in the
// same run (KernelBenchMain). Usage: bench_cuda_matmul (no arguments); exits 1 with the error on failure.
#include "bench/kernels/kernel_bench.h"

int main() { return kachi::KernelBenchMain("bench_cuda_matmul", kachi::BenchMatmulKernels); }
