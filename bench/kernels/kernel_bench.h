// `kachi bench kernels`: each CUDA kernel family's benchmark, printed beside the ceilings measured on the same GPU
// in the same run (device-to-device copy bandwidth, cuBLAS bf16 matmul rate) and, for attention, PyTorch's SDPA
// measured by bench/kernels/sdpa_reference.py. CUDA builds only.
#ifndef KACHI_BENCH_KERNELS_KERNEL_BENCH_H_
#define KACHI_BENCH_KERNELS_KERNEL_BENCH_H_

#include <ostream>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace kachi {

// The GPU's measured ceilings, shared by every family's table.
struct KernelBenchCeilings {
  double copy_gbps = 0;        // large cudaMemcpy device-to-device: (bytes read + bytes written) / time
  double bf16_matmul_tflops = 0;  // large bf16 GEMM through cuBLAS(Lt), fp32 accumulation
};

// Measures the ceilings on the current device (bench/kernels/ceilings.cu).
absl::StatusOr<KernelBenchCeilings> MeasureKernelCeilings();

// Each family's table: time (median), achieved GB/s or TFLOP/s and its % of the relevant ceiling.
absl::Status BenchMemoryKernels(const KernelBenchCeilings& ceilings, std::ostream& out);     // cuda_memory
absl::Status BenchMatmulKernels(const KernelBenchCeilings& ceilings, std::ostream& out);     // cuda_matmul
absl::Status BenchAttentionKernels(const KernelBenchCeilings& ceilings, std::ostream& out);  // cuda_attention

// One of the family tables above.
using KernelBenchTable = absl::Status (*)(const KernelBenchCeilings& ceilings, std::ostream& out);

// The body of each family's stand-alone program (bench_cuda_memory, bench_cuda_matmul, bench_cuda_attention): names
// device 0, measures its ceilings (MeasureKernelCeilings) and prints them, then `table` on stdout. Returns the exit
// code: 0, or 1 with the error on stderr after the `program` name (bench/kernels/kernel_bench_main.cc).
int KernelBenchMain(const char* program, KernelBenchTable table);

}  // namespace kachi

#endif  // KACHI_BENCH_KERNELS_KERNEL_BENCH_H_
