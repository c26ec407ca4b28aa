// bench_cuda_attention: the cuda_attention family's table (BenchAttentionKernels: kachi beside PyTorch SDPA) beside
// this GPU's ceilings, measured in the same run (KernelBenchMain). Usage: bench_cuda_attention (no arguments); exits
// 1 with the error on failure.
#include "bench/kernels/kernel_bench.h"

int main() { return kachi::KernelBenchMain("bench_cuda_attention", kachi::BenchAttentionKernels); }
