// BenchMatmulKernels (bench/kernels/kernel_bench.h): the cuda_matmul family on GPT-2 124M shapes at B*T = 32768 in
// bf16. Matmuls: forward, weight-gradient only (din skipped: dweight + dbias), and the whole backward (din +
// dweight + dbias); the input-gradient matmul is their difference. TFLOP/s counts 2*N*IC*OC per matmul, beside the
// measured cuBLAS bf16 rate. Every layer is also timed with its epilogues as separate kachi kernels (UNFUSED rows),
// and the GELU backward with fused DGELU but kachi bias-gradient sums. Cross-entropy on 32768 x 50304 bf16 logits:
// GB/s of logits moved (one read per pass; the in-place backward reads and writes) beside the measured
// device-copy bandwidth. Median of repeated runs timed with CUDA events after warm-up, on random data (never zeros).
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "bench/kernels/kernel_bench.h"
#include "kernels/base/device_buffer.h"
#include "kernels/base/status_macros.h"
#include "kernels/cross_entropy_cuda.h"
#include "kernels/matmul_context_cuda.h"
#include "kernels/matmul_cuda.h"
#include "kernels/matmul_status_cuda.h"

namespace kachi {
namespace {

using bf16 = __nv_bfloat16;
using cuda::matmul_internal::CudaStatus;
using cuda::matmul_internal::LaunchStatus;

constexpr int64_t kTokens = 32768;  // B * T
constexpr int64_t kVocab = 50304;   // GPT-2's vocabulary padded to a multiple of 128
constexpr int64_t kRealVocab = 50257;
constexpr int kWarmup = 3;
constexpr int kRepeats = 15;

// Uniform values in [-scale, scale) from a hash of (seed, index): fresh, nonzero-mean-free random data on device.
template <typename T>
__global__ void FillUniformKernel(T* data, int64_t n, uint64_t seed, float scale) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x) {
    uint64_t z = seed + 0x9E3779B97F4A7C15ull * (i + 1);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    const float unit = static_cast<float>(z >> 40) * (1.0f / 16777216.0f);  // [0, 1)
    data[i] = static_cast<T>((2.0f * unit - 1.0f) * scale);
  }
}

__global__ void FillTargetsKernel(int32_t* targets, int64_t n, int32_t vocab) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x) {
    targets[i] = static_cast<int32_t>((i * 2654435761ull) % vocab);
  }
}

// A device allocation freed on scope exit (allocated after declaration with Reallocate).
using base::DeviceBuffer;

template <typename T>
absl::Status AllocateRandom(DeviceBuffer& buffer, int64_t n, uint64_t seed, float scale) {
  KACHI_RETURN_IF_ERROR(buffer.Reallocate(n * sizeof(T)));
  FillUniformKernel<T><<<1024, 256>>>(buffer.as<T>(), n, seed, scale);
  return LaunchStatus("FillUniformKernel");
}

// Milliseconds of one `run` between two events on the default stream, after `prepare` (untimed, may be null).
absl::StatusOr<float> TimeOnce(const std::function<absl::Status()>& run, const std::function<absl::Status()>& prepare,
                               cudaEvent_t start, cudaEvent_t stop) {
  if (prepare) KACHI_RETURN_IF_ERROR(prepare());
  KACHI_RETURN_IF_ERROR(CudaStatus(cudaEventRecord(start, nullptr), "cudaEventRecord"));
  KACHI_RETURN_IF_ERROR(run());
  KACHI_RETURN_IF_ERROR(CudaStatus(cudaEventRecord(stop, nullptr), "cudaEventRecord"));
  KACHI_RETURN_IF_ERROR(CudaStatus(cudaEventSynchronize(stop), "cudaEventSynchronize"));
  float ms = 0;
  KACHI_RETURN_IF_ERROR(CudaStatus(cudaEventElapsedTime(&ms, start, stop), "cudaEventElapsedTime"));
  return ms;
}

// Median milliseconds of `run` over kRepeats timed runs after kWarmup, with `prepare` (untimed) before each.
absl::StatusOr<double> MedianMs(const std::function<absl::Status()>& run,
                                const std::function<absl::Status()>& prepare = nullptr) {
  cudaEvent_t start = nullptr, stop = nullptr;
  KACHI_RETURN_IF_ERROR(CudaStatus(cudaEventCreate(&start), "cudaEventCreate"));
  KACHI_RETURN_IF_ERROR(CudaStatus(cudaEventCreate(&stop), "cudaEventCreate"));
  std::vector<double> times;
  for (int i = 0; i < kWarmup + kRepeats; ++i) {
    const absl::StatusOr<float> ms = TimeOnce(run, prepare, start, stop);
    if (!ms.ok()) {
      cudaEventDestroy(start);
      cudaEventDestroy(stop);
      return ms.status();
    }
    if (i >= kWarmup) times.push_back(*ms);
  }
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

// One table row: the op, its size, median time, rate, the ceiling and the percentage of it.
void PrintRow(std::ostream& out, const std::string& op, const std::string& shape, double ms, double rate,
              double ceiling, const char* unit) {
  out << absl::StrFormat("%-40s %-18s %9.3f %10.1f %10.1f %7.1f%%  %s\n", op, shape, ms, rate, ceiling,
                         100.0 * rate / ceiling, unit);
}

// One GPT-2 linear layer: forward, weight-gradient-only and full backward.
struct Layer {
  const char* name;
  int64_t in_channels, out_channels;
  bool bias;
  bool gelu_after;   // forward is MatmulGeluForward (the MLP's fc)
  bool gelu_before;  // input is a GELU output: backward is MatmulBackwardThroughGelu (the MLP's projection)
};

absl::Status BenchLayer(const Layer& layer, double peak_tflops, std::ostream& out) {
  const int64_t n = kTokens, ic = layer.in_channels, oc = layer.out_channels;
  DeviceBuffer in, weight, bias, output, pre, dout, din, dweight, dbias, dpre_bias;
  KACHI_RETURN_IF_ERROR(AllocateRandom<bf16>(in, n * ic, 1, 1.0f));
  KACHI_RETURN_IF_ERROR(AllocateRandom<bf16>(weight, oc * ic, 2, 0.05f));
  KACHI_RETURN_IF_ERROR(AllocateRandom<bf16>(bias, oc, 3, 0.1f));
  KACHI_RETURN_IF_ERROR(AllocateRandom<bf16>(output, n * oc, 4, 1.0f));
  KACHI_RETURN_IF_ERROR(AllocateRandom<bf16>(pre, n * std::max(ic, oc), 5, 2.0f));
  KACHI_RETURN_IF_ERROR(AllocateRandom<bf16>(dout, n * oc, 6, 0.01f));
  KACHI_RETURN_IF_ERROR(AllocateRandom<bf16>(din, n * ic, 7, 0.01f));
  KACHI_RETURN_IF_ERROR(AllocateRandom<bf16>(dweight, oc * ic, 8, 0.01f));
  KACHI_RETURN_IF_ERROR(AllocateRandom<bf16>(dbias, oc, 9, 0.01f));
  KACHI_RETURN_IF_ERROR(AllocateRandom<bf16>(dpre_bias, ic, 10, 0.01f));
  const bf16* bias_or_null = layer.bias ? bias.as<bf16>() : nullptr;
  bf16* dbias_or_null = layer.bias ? dbias.as<bf16>() : nullptr;
  const double flops = 2.0 * n * ic * oc;
  const std::string shape = absl::StrCat(n, "x", ic, "->", oc);

  const std::function<absl::Status()> forward = [&]() {
    if (layer.gelu_after) {
      return cuda::MatmulGeluForward<bf16>(output.as<bf16>(), pre.as<bf16>(), in.as<bf16>(), weight.as<bf16>(),
                                           bias_or_null, n, ic, oc, nullptr);
    }
    return cuda::MatmulForward<bf16>(output.as<bf16>(), in.as<bf16>(), weight.as<bf16>(), bias_or_null, n, ic, oc,
                                     nullptr);
  };
  const std::function<absl::Status()> weight_gradient = [&]() {
    return cuda::MatmulBackward<bf16>(nullptr, dweight.as<bf16>(), dbias_or_null, dout.as<bf16>(), in.as<bf16>(),
                                      weight.as<bf16>(), n, ic, oc, nullptr);
  };
  const std::function<absl::Status()> backward = [&]() {
    if (layer.gelu_before) {
      return cuda::MatmulBackwardThroughGelu<bf16>(din.as<bf16>(), dpre_bias.as<bf16>(), dweight.as<bf16>(),
                                                   dbias_or_null, dout.as<bf16>(), in.as<bf16>(), weight.as<bf16>(),
                                                   pre.as<bf16>(), n, ic, oc, nullptr);
    }
    return cuda::MatmulBackward<bf16>(din.as<bf16>(), dweight.as<bf16>(), dbias_or_null, dout.as<bf16>(), in.as<bf16>(),
                                      weight.as<bf16>(), n, ic, oc, nullptr);
  };

  KACHI_ASSIGN_OR_RETURN(cuda::MatmulContext * context, cuda::MatmulContext::ForStream(nullptr));
  const cuda::EpilogueFusion default_fusion = context->fusion();
  // The default fusion, then the same calls with every epilogue as a separate kachi kernel, and (before a GELU)
  // fused DGELU with the bias gradients summed by kachi kernels.
  struct Variant {
    const char* suffix;
    cuda::EpilogueFusion fusion;
  };
  std::vector<Variant> variants = {{"", default_fusion}, {" UNFUSED", {false, false, false, false}}};
  if (layer.gelu_before) variants.push_back({" DGELU+kachi dbias", {true, false, true, false}});
  for (const Variant& variant : variants) {
    context->set_fusion(variant.fusion);
    absl::StatusOr<double> forward_ms = MedianMs(forward);
    absl::StatusOr<double> weight_ms = forward_ms.ok() ? MedianMs(weight_gradient) : forward_ms;
    absl::StatusOr<double> backward_ms = weight_ms.ok() ? MedianMs(backward) : weight_ms;
    context->set_fusion(default_fusion);
    KACHI_RETURN_IF_ERROR(backward_ms);
    const std::string forward_name = absl::StrCat(layer.name, layer.gelu_after ? " fwd +bias+GELU" : " fwd",
                                                  layer.bias && !layer.gelu_after ? " +bias" : "", variant.suffix);
    PrintRow(out, forward_name, shape, *forward_ms, flops / (*forward_ms * 1e9), peak_tflops, "TFLOP/s");
    PrintRow(out, absl::StrCat(layer.name, " bwd dW", layer.bias ? " +dbias" : "", variant.suffix), shape, *weight_ms,
             flops / (*weight_ms * 1e9), peak_tflops, "TFLOP/s");
    if (variant.suffix[0] == '\0') {
      const double input_ms = *backward_ms - *weight_ms;
      PrintRow(out, absl::StrCat(layer.name, " bwd dIn", layer.gelu_before ? " +dGELU+dbias'" : "", " (diff)"), shape,
               input_ms, flops / (input_ms * 1e9), peak_tflops, "TFLOP/s");
    }
    PrintRow(out, absl::StrCat(layer.name, " bwd total", variant.suffix), shape, *backward_ms,
             2 * flops / (*backward_ms * 1e9), peak_tflops, "TFLOP/s");
  }
  return CudaStatus(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
}

absl::Status BenchCrossEntropy(double copy_gbps, std::ostream& out) {
  const int64_t rows = kTokens, cols = kVocab, valid = kRealVocab;
  DeviceBuffer logits, targets, row_max, row_sum, target_logit, loss, dloss;
  KACHI_RETURN_IF_ERROR(AllocateRandom<bf16>(logits, rows * cols, 11, 4.0f));
  KACHI_RETURN_IF_ERROR(targets.Reallocate(rows * sizeof(int32_t)));
  FillTargetsKernel<<<128, 256>>>(targets.as<int32_t>(), rows, static_cast<int32_t>(valid));
  KACHI_RETURN_IF_ERROR(LaunchStatus("FillTargetsKernel"));
  for (DeviceBuffer* buffer : {&row_max, &row_sum, &target_logit, &loss}) {
    KACHI_RETURN_IF_ERROR(AllocateRandom<float>(*buffer, rows, 12, 1.0f));
  }
  KACHI_RETURN_IF_ERROR(dloss.Reallocate(rows * sizeof(float)));
  FillUniformKernel<float><<<128, 256>>>(dloss.as<float>(), rows, 13, 1.0f / rows);
  KACHI_RETURN_IF_ERROR(LaunchStatus("FillUniformKernel"));
  const double logit_bytes = static_cast<double>(rows) * cols * sizeof(bf16);
  const std::string shape = absl::StrCat(rows, "x", cols, " bf16");
  auto report = [&](const std::string& name, absl::StatusOr<double> ms, double passes) -> absl::Status {
    KACHI_RETURN_IF_ERROR(ms);
    PrintRow(out, name, shape, *ms, passes * logit_bytes / (*ms * 1e6), copy_gbps, "GB/s");
    return absl::OkStatus();
  };

  KACHI_RETURN_IF_ERROR(report("CE forward (1 pass, online)", MedianMs([&]() {
                                 return cuda::CrossEntropyForward<bf16>(
                                     loss.as<float>(), row_max.as<float>(), row_sum.as<float>(), logits.as<bf16>(),
                                     targets.as<int32_t>(), rows, cols, valid, nullptr);
                               }),
                               1));
  KACHI_RETURN_IF_ERROR(report("CE row max", MedianMs([&]() {
                                 return cuda::CrossEntropyRowMax<bf16>(row_max.as<float>(), logits.as<bf16>(), rows,
                                                                       cols, valid, nullptr);
                               }),
                               1));
  KACHI_RETURN_IF_ERROR(report("CE row sum-exp", MedianMs([&]() {
                                 return cuda::CrossEntropyRowSumExp<bf16>(row_sum.as<float>(), logits.as<bf16>(),
                                                                          row_max.as<float>(), rows, cols, valid,
                                                                          nullptr);
                               }),
                               1));
  // The in-place backward overwrites the logits: refill them (untimed) before each run.
  auto refill = [&]() {
    FillUniformKernel<bf16><<<1024, 256>>>(logits.as<bf16>(), rows * cols, 11, 4.0f);
    return LaunchStatus("FillUniformKernel");
  };
  KACHI_RETURN_IF_ERROR(report("CE backward in place (read+write)",
                               MedianMs(
                                   [&]() {
                                     return cuda::CrossEntropyBackward<bf16>(
                                         logits.as<bf16>(), logits.as<bf16>(), row_max.as<float>(), row_sum.as<float>(),
                                         targets.as<int32_t>(), dloss.as<float>(), rows, cols, valid, 0, nullptr);
                                   },
                                   refill),
                               2));
  return CudaStatus(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
}

}  // namespace

absl::Status BenchMatmulKernels(const KernelBenchCeilings& ceilings, std::ostream& out) {
  if (ceilings.bf16_matmul_tflops <= 0 || ceilings.copy_gbps <= 0) {
    return absl::InvalidArgumentError("BenchMatmulKernels needs measured ceilings (bf16 TFLOP/s and copy GB/s > 0)");
  }
  out << "# cuda_matmul: cuBLASLt bf16 matmuls (GPT-2 124M layers, B*T = " << kTokens
      << ") and softmax cross-entropy\n";
  out << absl::StrFormat("%-40s %-18s %9s %10s %10s %8s\n", "op", "shape", "median ms", "rate", "ceiling", "% ceil");
  const Layer layers[] = {
      {"qkv", 768, 2304, true, false, false},        {"attn proj", 768, 768, true, false, false},
      {"fc", 768, 3072, true, true, false},          {"fc proj", 3072, 768, true, false, true},
      {"lm head", 768, kVocab, false, false, false},
  };
  for (const Layer& layer : layers) KACHI_RETURN_IF_ERROR(BenchLayer(layer, ceilings.bf16_matmul_tflops, out));
  KACHI_RETURN_IF_ERROR(BenchCrossEntropy(ceilings.copy_gbps, out));
  KACHI_ASSIGN_OR_RETURN(cuda::MatmulContext * context, cuda::MatmulContext::ForStream(nullptr));
  out << "# epilogue paths: " << context->path_counts().fused << " fused in cuBLASLt, "
      << context->path_counts().unfused << " unfused (incl. the UNFUSED rows)\n";
  return absl::OkStatus();
}

}  // namespace kachi
