// BenchAttentionKernels (bench/kernels/kernel_bench.h): kachi's causal flash attention (kernels/attention_cuda.h) at
// GPT-2-small shapes, B=32, H=12, T=1024, D=64, bf16: forward (both query tiles), backward and forward+backward
// medians, their causal TFLOP/s beside the bf16 matmul ceiling, and PyTorch's flash SDPA at the same shapes measured
// by bench/kernels/sdpa_reference.py in a child process (the same GPU, right after kachi's timings).
//
// The two numbers (METHOD.md): forward 2*2*B*H*T*T*D/2 = 51.5 GFLOP, backward 2.5x that; the fewest bytes are
// qkv 151 MB + out 50 MB for the forward and about 0.45 GB for the backward (qkv, out, dout read, dqkv read+written),
// so at ~3 TB/s and ~800 TFLOP/s both are near 65 us for the forward: neither term dominates by much.
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "bench/kernels/kernel_bench.h"
#include "kernels/attention_cuda.h"
#include "kernels/base/cuda_status.h"
#include "kernels/base/device_buffer.h"
#include "kernels/base/status_macros.h"

namespace kachi {
namespace {

constexpr int64_t kBatch = 32;
constexpr int64_t kHeads = 12;
constexpr int64_t kSeqLen = 1024;
constexpr int64_t kHeadSize = 64;
constexpr int kWarmups = 5;
constexpr int kRepeats = 30;

// Uniform values in [lo, hi) from a per-element hash of (seed, index): fresh, never all zeros.
__global__ void FillUniformBf16(__nv_bfloat16* data, int64_t count, uint64_t seed, float lo, float hi) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < count;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    uint64_t x = (static_cast<uint64_t>(i) + 1) * 0x9E3779B97F4A7C15ull ^ seed;
    x ^= x >> 31;
    x *= 0xBF58476D1CE4E5B9ull;
    x ^= x >> 29;
    const float unit = static_cast<float>(x >> 40) * (1.0f / 16777216.0f);
    data[i] = __float2bfloat16(lo + (hi - lo) * unit);
  }
}

// A device allocation freed on scope exit (allocated after declaration with Reallocate).
using base::DeviceBuffer;

// Median milliseconds of `body` on `stream` over kRepeats event-timed runs after kWarmups untimed ones.
absl::StatusOr<double> MedianMilliseconds(const std::function<absl::Status()>& body, cudaStream_t stream) {
  for (int i = 0; i < kWarmups; ++i) {
    KACHI_RETURN_IF_ERROR(body());
  }
  std::vector<cudaEvent_t> events(2 * kRepeats);
  for (auto& event : events) {
    KACHI_RETURN_IF_ERROR(base::CudaStatus(cudaEventCreate(&event), "cudaEventCreate"));
  }
  // Enqueues every timed run, then reads the event pairs; the first error ends the measurement.
  auto timed_runs = [&]() -> absl::StatusOr<std::vector<double>> {
    for (int i = 0; i < kRepeats; ++i) {
      KACHI_RETURN_IF_ERROR(base::CudaStatus(cudaEventRecord(events[2 * i], stream), "cudaEventRecord"));
      KACHI_RETURN_IF_ERROR(body());
      KACHI_RETURN_IF_ERROR(base::CudaStatus(cudaEventRecord(events[2 * i + 1], stream), "cudaEventRecord"));
    }
    KACHI_RETURN_IF_ERROR(base::CudaStatus(cudaStreamSynchronize(stream), "cudaStreamSynchronize"));
    std::vector<double> times;
    for (int i = 0; i < kRepeats; ++i) {
      float ms = 0;
      KACHI_RETURN_IF_ERROR(
          base::CudaStatus(cudaEventElapsedTime(&ms, events[2 * i], events[2 * i + 1]), "cudaEventElapsedTime"));
      times.push_back(ms);
    }
    return times;
  };
  absl::StatusOr<std::vector<double>> measured = timed_runs();
  for (auto& event : events) (void)cudaEventDestroy(event);
  KACHI_RETURN_IF_ERROR(measured);
  std::vector<double> times = *std::move(measured);
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

// SDPA's medians (ms) as printed by sdpa_reference.py, or the reason they are missing.
struct SdpaTimes {
  double forward_ms = 0;
  double forward_backward_ms = 0;
  std::string missing;  // empty when measured
};

// Runs the SDPA reference script (KACHI_SDPA_SCRIPT or the source tree's copy; KACHI_PYTHON or python3) and parses
// its line "sdpa_reference fwd_ms=<x> fwdbwd_ms=<y>".
SdpaTimes MeasureSdpa() {
  SdpaTimes result;
  const char* script = std::getenv("KACHI_SDPA_SCRIPT");
  const char* python = std::getenv("KACHI_PYTHON");
  const std::string command =
      absl::StrCat(python ? python : "python3", " ", script ? script : KACHI_SDPA_SCRIPT_DEFAULT, " --batch ", kBatch,
                   " --heads ", kHeads, " --seq-len ", kSeqLen, " --head-size ", kHeadSize, " 2>&1");
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) {
    result.missing = absl::StrCat("could not start: ", command);
    return result;
  }
  char line[512];
  std::string last_line;
  bool found = false;
  while (std::fgets(line, sizeof(line), pipe) != nullptr) {
    last_line = line;
    if (std::sscanf(line, "sdpa_reference fwd_ms=%lf fwdbwd_ms=%lf", &result.forward_ms, &result.forward_backward_ms) ==
        2) {
      found = true;
    }
  }
  const int exit_code = pclose(pipe);
  if (!found) {
    result.missing =
        absl::StrCat("no result line from `", command, "` (exit ", exit_code, "; last output: ", last_line, ")");
  }
  return result;
}

// One table row: name, median, causal TFLOP/s, % of the matmul ceiling and, when given, the SDPA time and ratio.
void PrintRow(std::ostream& out, const std::string& name, double ms, double flops, double ceiling_tflops,
              double sdpa_ms) {
  const double tflops = flops / (ms * 1e-3) / 1e12;
  out << absl::StrFormat("%-28s %10.4f %9.1f %9.1f%%", name, ms, tflops,
                         ceiling_tflops > 0 ? 100.0 * tflops / ceiling_tflops : 0.0);
  if (sdpa_ms > 0) {
    out << absl::StrFormat(" %10.4f %10.2fx", sdpa_ms, sdpa_ms / ms);
  }
  out << "\n";
}

}  // namespace

absl::Status BenchAttentionKernels(const KernelBenchCeilings& ceilings, std::ostream& out) {
  const int64_t qkv_count = kBatch * kSeqLen * 3 * kHeads * kHeadSize;
  const int64_t out_count = kBatch * kSeqLen * kHeads * kHeadSize;
  const int64_t row_count = kBatch * kHeads * kSeqLen;
  DeviceBuffer qkv, attention_out, logsumexp, dout, dqkv, scratch;
  for (auto [buffer, bytes] : {std::pair<DeviceBuffer*, size_t>{&qkv, qkv_count * 2},
                               {&attention_out, out_count * 2},
                               {&logsumexp, row_count * 4},
                               {&dout, out_count * 2},
                               {&dqkv, qkv_count * 2},
                               {&scratch, cuda::AttentionBackwardScratchFloats(kBatch, kSeqLen, kHeads) * 4}}) {
    KACHI_RETURN_IF_ERROR(buffer->Reallocate(bytes));
  }
  cudaStream_t stream;
  KACHI_RETURN_IF_ERROR(base::CudaStatus(cudaStreamCreate(&stream), "cudaStreamCreate"));
  FillUniformBf16<<<1024, 256, 0, stream>>>(qkv.as<__nv_bfloat16>(), qkv_count, 0x5eed1, -1.0f, 1.0f);
  FillUniformBf16<<<1024, 256, 0, stream>>>(dout.as<__nv_bfloat16>(), out_count, 0x5eed2, -1.0f, 1.0f);
  FillUniformBf16<<<1024, 256, 0, stream>>>(dqkv.as<__nv_bfloat16>(), qkv_count, 0x5eed3, -0.01f, 0.01f);
  KACHI_RETURN_IF_ERROR(base::CudaStatus(cudaGetLastError(), "FillUniformBf16 launch"));

  auto forward_with = [&](int rows) {
    return [&, rows]() {
      return cuda::AttentionForwardBf16WithQueryTile(rows, attention_out.as<void>(), logsumexp.as<float>(),
                                                     qkv.as<void>(), kBatch, kSeqLen, kHeads, kHeadSize, stream);
    };
  };
  auto forward = [&]() {
    return cuda::AttentionForward(attention_out.as<__nv_bfloat16>(), logsumexp.as<float>(), qkv.as<__nv_bfloat16>(),
                                  kBatch, kSeqLen, kHeads, kHeadSize, stream);
  };
  auto backward = [&]() {
    return cuda::AttentionBackward(dqkv.as<__nv_bfloat16>(), dout.as<__nv_bfloat16>(), qkv.as<__nv_bfloat16>(),
                                   attention_out.as<__nv_bfloat16>(), logsumexp.as<float>(), scratch.as<float>(),
                                   kBatch, kSeqLen, kHeads, kHeadSize, stream);
  };
  auto forward_backward = [&]() {
    KACHI_RETURN_IF_ERROR(forward());
    return backward();
  };

  absl::StatusOr<double> forward64 = MedianMilliseconds(forward_with(64), stream);
  absl::StatusOr<double> forward128 = MedianMilliseconds(forward_with(128), stream);
  absl::StatusOr<double> forward_ms = MedianMilliseconds(forward, stream);
  absl::StatusOr<double> backward_ms = MedianMilliseconds(backward, stream);
  absl::StatusOr<double> forward_backward_ms = MedianMilliseconds(forward_backward, stream);
  (void)cudaStreamDestroy(stream);
  for (const auto* measured : {&forward64, &forward128, &forward_ms, &backward_ms, &forward_backward_ms}) {
    if (!measured->ok()) return measured->status();
  }
  const SdpaTimes sdpa = MeasureSdpa();

  const double forward_flops = 2.0 * 2.0 * kBatch * kHeads * kSeqLen * kSeqLen * kHeadSize / 2.0;
  const double backward_flops = 2.5 * forward_flops;
  const double ceiling = ceilings.bf16_matmul_tflops;
  out << absl::StrFormat(
      "# attention: causal flash, bf16, B=%d H=%d T=%d D=%d; TFLOP/s count causal flops "
      "(fwd 2*2*B*H*T*T*D/2, bwd 2.5x); ceiling = bf16 matmul %.1f TFLOP/s\n",
      kBatch, kHeads, kSeqLen, kHeadSize, ceiling);
  out << absl::StrFormat("%-28s %10s %9s %10s %10s %11s\n", "kernel", "median_ms", "TFLOP/s", "%ceiling", "sdpa_ms",
                         "sdpa/kachi");
  PrintRow(out, "forward (query tile 64)", *forward64, forward_flops, ceiling, 0);
  PrintRow(out, "forward (query tile 128)", *forward128, forward_flops, ceiling, 0);
  PrintRow(out, absl::StrCat("forward (default ", cuda::kDefaultForwardQueryRows, ")"), *forward_ms, forward_flops,
           ceiling, sdpa.forward_ms);
  PrintRow(out, "backward", *backward_ms, backward_flops, ceiling, 0);
  PrintRow(out, "forward+backward", *forward_backward_ms, forward_flops + backward_flops, ceiling,
           sdpa.forward_backward_ms);
  if (!sdpa.missing.empty()) {
    out << "# PyTorch SDPA not measured: " << sdpa.missing << "\n";
  } else {
    out << absl::StrFormat("# sdpa/kachi > 1 means kachi is faster (SDPA flash backend, same shapes, bf16)\n");
  }
  return absl::OkStatus();
}

}  // namespace kachi
