// BenchMemoryKernels (kernel_bench.h): every cuda_memory kernel at GPT-2 124M training shapes (rows N = 32 * 1024,
// the micro-batch of `kachi bench train` and of the matmul bench, C = 768; embeddings over B * T = 32768 tokens; AdamW
// and the global norm over the 124M parameters in GPT-2's 148 tensors), bf16 activations unless marked fp32. Each row:
// the fewest bytes the op must move (every input read once, every output written once), the median of 20 cold-L2
// event-timed runs, GB/s and % of the measured copy bandwidth; the note says what the byte count leaves out when the
// kernel does more.
#include <algorithm>
#include <cmath>
#include <functional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <cub/device/device_radix_sort.cuh>

#include "absl/strings/str_format.h"
#include "bench/kernels/cuda_memory_bench_util.cuh"
#include "bench/kernels/kernel_bench.h"
#include "kernels/adamw_cuda.h"
#include "kernels/base/status_macros.h"
#include "kernels/gelu_cuda.h"
#include "kernels/layernorm_cuda.h"
#include "kernels/position_embedding_cuda.h"
#include "kernels/residual_layernorm_cuda.h"
#include "kernels/sum_of_squares_cuda.h"
#include "kernels/token_embedding_cuda.h"

namespace kachi {
namespace {

using bench_internal::DeviceMemory;
using bench_internal::RandomFill;
using bf16 = __nv_bfloat16;

constexpr int64_t kBatch = 32;  // the training micro-batch (the H100 tables in bench/RESULTS.md up to now used 8)
constexpr int64_t kSeqLen = 1024;
constexpr int64_t kRows = kBatch * kSeqLen;  // LayerNorm / GELU / residual rows
constexpr int64_t kChannels = 768;
constexpr int64_t kTokens = 32768;  // embedding B * T
constexpr int64_t kVocab = 50257;
constexpr size_t kFlushBytes = size_t{256} << 20;  // > 5x the H100's 50 MB L2

// One measured row of the table.
struct BenchRow {
  std::string kernel;
  std::string shape;
  double bytes = 0;
  double milliseconds = 0;
  std::string note;
};

// Element counts of GPT-2 124M's parameters, in the order of llm.c's parameter tensors (wte, wpe, then per layer).
std::vector<int64_t> Gpt2ParameterSizes() {
  const int64_t c = kChannels;
  std::vector<int64_t> sizes = {kVocab * c, 1024 * c};
  for (int layer = 0; layer < 12; ++layer) {
    for (int64_t size : {c, c, 3 * c * c, 3 * c, c * c, c, c, c, 4 * c * c, 4 * c, 4 * c * c, c}) {
      sizes.push_back(size);
    }
  }
  sizes.push_back(c);
  sizes.push_back(c);
  return sizes;
}

// Runs `launch` cold (see MedianMilliseconds) and appends a row; any CUDA error ends the benchmark.
class Bencher {
 public:
  explicit Bencher(void* flush) : flush_(flush) {}

  absl::Status Add(std::string kernel, std::string shape, double bytes, const std::function<absl::Status()>& launch,
                   std::string note = "") {
    KACHI_ASSIGN_OR_RETURN(double ms, bench_internal::MedianMilliseconds(launch, nullptr, flush_, kFlushBytes));
    rows_.push_back(BenchRow{std::move(kernel), std::move(shape), bytes, ms, std::move(note)});
    return absl::OkStatus();
  }
  const std::vector<BenchRow>& rows() const { return rows_; }

 private:
  void* flush_;
  std::vector<BenchRow> rows_;
};

absl::Status BenchEmbeddings(Bencher& bencher) {
  const int64_t elements = kTokens * kChannels;
  DeviceMemory table, out, dout, dtable, wpe, dwpe, tokens, workspace;
  std::vector<int32_t> host_tokens(kTokens);
  std::mt19937_64 generator(7);
  std::uniform_int_distribution<int32_t> draw(0, kVocab - 1);
  for (int32_t& token : host_tokens) token = draw(generator);
  const int64_t unique_tokens = std::set<int32_t>(host_tokens.begin(), host_tokens.end()).size();
  KACHI_ASSIGN_OR_RETURN(size_t workspace_bytes, cuda::TokenEmbeddingBackwardWorkspaceBytes(kTokens, kVocab));
  for (absl::Status s : {table.Reallocate(kVocab * kChannels * 2), out.Reallocate(elements * 2),
                         dout.Reallocate(elements * 2), dtable.Reallocate(kVocab * kChannels * 2),
                         wpe.Reallocate(kSeqLen * kChannels * 2), dwpe.Reallocate(kSeqLen * kChannels * 2),
                         tokens.Reallocate(kTokens * 4), workspace.Reallocate(workspace_bytes)}) {
    KACHI_RETURN_IF_ERROR(s);
  }
  KACHI_CUDA_RETURN_IF_ERROR(cudaMemcpy(tokens.as<int32_t>(), host_tokens.data(), kTokens * 4, cudaMemcpyHostToDevice));
  for (absl::Status s :
       {RandomFill(table.as<bf16>(), kVocab * kChannels, 11), RandomFill(dout.as<bf16>(), elements, 12),
        RandomFill(dtable.as<bf16>(), kVocab * kChannels, 13), RandomFill(wpe.as<bf16>(), kSeqLen * kChannels, 14),
        RandomFill(dwpe.as<bf16>(), kSeqLen * kChannels, 15), RandomFill(out.as<bf16>(), elements, 16)}) {
    KACHI_RETURN_IF_ERROR(s);
  }
  const std::string shape = absl::StrFormat("%d tok x %d, V=%d", kTokens, kChannels, kVocab);
  KACHI_RETURN_IF_ERROR(bencher.Add("token_embedding fwd", shape, kTokens * 4.0 + 2.0 * elements * 2, [&] {
    return cuda::TokenEmbeddingForward(out.as<bf16>(), tokens.as<int32_t>(), table.as<bf16>(), kTokens, kChannels, 0,
                                       kVocab, nullptr);
  }));
  KACHI_RETURN_IF_ERROR(bencher.Add(
      "token_embedding bwd", shape, kTokens * 4.0 + elements * 2.0 + 2.0 * unique_tokens * kChannels * 2,
      [&] {
        return cuda::TokenEmbeddingBackward(dtable.as<bf16>(), dout.as<bf16>(), tokens.as<int32_t>(), kTokens,
                                            kChannels, 0, kVocab, workspace.as<void>(), workspace_bytes, nullptr);
      },
      absl::StrFormat("bytes: dout + %d touched rows r/w; the key sort is extra", unique_tokens)));
  // The backward's sort step alone, to split its time (same keys: the local rows of the tokens).
  DeviceMemory sort_keys, sort_values, sorted_keys, sorted_values, sort_scratch;
  size_t sort_scratch_bytes = 0;
  KACHI_CUDA_RETURN_IF_ERROR(cub::DeviceRadixSort::SortPairs(
      nullptr, sort_scratch_bytes, static_cast<const int32_t*>(nullptr), static_cast<int32_t*>(nullptr),
      static_cast<const int32_t*>(nullptr), static_cast<int32_t*>(nullptr), kTokens, 0, 16));
  for (absl::Status s :
       {sort_keys.Reallocate(kTokens * 4), sort_values.Reallocate(kTokens * 4), sorted_keys.Reallocate(kTokens * 4),
        sorted_values.Reallocate(kTokens * 4), sort_scratch.Reallocate(sort_scratch_bytes)}) {
    KACHI_RETURN_IF_ERROR(s);
  }
  KACHI_CUDA_RETURN_IF_ERROR(
      cudaMemcpy(sort_keys.as<int32_t>(), host_tokens.data(), kTokens * 4, cudaMemcpyHostToDevice));
  KACHI_CUDA_RETURN_IF_ERROR(
      cudaMemcpy(sort_values.as<int32_t>(), host_tokens.data(), kTokens * 4, cudaMemcpyHostToDevice));
  KACHI_RETURN_IF_ERROR(bencher.Add(
      "  of which: key sort", absl::StrFormat("%d int32 pairs, 16 bits", kTokens), 16.0 * kTokens,
      [&] {
        size_t bytes = sort_scratch_bytes;
        return cuda::internal::CudaStatus(
            cub::DeviceRadixSort::SortPairs(sort_scratch.as<void>(), bytes, sort_keys.as<int32_t>(),
                                            sorted_keys.as<int32_t>(), sort_values.as<int32_t>(),
                                            sorted_values.as<int32_t>(), kTokens, 0, 16, nullptr),
            "cub::DeviceRadixSort::SortPairs");
      },
      "cub radix sort alone (launch- and latency-bound at this size)"));
  const std::string position_shape = absl::StrFormat("B=%d T=%d C=%d", kBatch, kSeqLen, kChannels);
  const double position_rows = kRows * kChannels * 2.0;
  KACHI_RETURN_IF_ERROR(
      bencher.Add("position_embedding fwd", position_shape, 2 * position_rows + kSeqLen * kChannels * 2.0, [&] {
        return cuda::PositionEmbeddingForward(out.as<bf16>(), wpe.as<bf16>(), kBatch, kSeqLen, kChannels, nullptr);
      }));
  return bencher.Add("position_embedding bwd", position_shape, position_rows + 2.0 * kSeqLen * kChannels * 2, [&] {
    return cuda::PositionEmbeddingBackward(dwpe.as<bf16>(), dout.as<bf16>(), kBatch, kSeqLen, kChannels, nullptr);
  });
}

template <typename T>
absl::Status BenchLayerNorm(Bencher& bencher, const char* dtype) {
  const int64_t elements = kRows * kChannels;
  const double tensor = elements * static_cast<double>(sizeof(T));
  const double params = kChannels * static_cast<double>(sizeof(T));
  const double stats = kRows * 8.0;  // mean + rstd
  DeviceMemory a, b, residual, out, weight, bias, mean, rstd, dout, dresidual, dweight, dbias, workspace;
  KACHI_ASSIGN_OR_RETURN(size_t workspace_bytes, cuda::LayerNormBackwardWorkspaceBytes(kRows, kChannels));
  for (absl::Status s :
       {a.Reallocate(tensor), b.Reallocate(tensor), residual.Reallocate(tensor), out.Reallocate(tensor),
        weight.Reallocate(params), bias.Reallocate(params), mean.Reallocate(kRows * 4), rstd.Reallocate(kRows * 4),
        dout.Reallocate(tensor), dresidual.Reallocate(tensor), dweight.Reallocate(params), dbias.Reallocate(params),
        workspace.Reallocate(workspace_bytes)}) {
    KACHI_RETURN_IF_ERROR(s);
  }
  for (absl::Status s : {RandomFill(a.as<T>(), elements, 21), RandomFill(b.as<T>(), elements, 22),
                         RandomFill(weight.as<T>(), kChannels, 23), RandomFill(bias.as<T>(), kChannels, 24),
                         RandomFill(dout.as<T>(), elements, 25), RandomFill(dresidual.as<T>(), elements, 26),
                         RandomFill(dweight.as<T>(), kChannels, 27), RandomFill(dbias.as<T>(), kChannels, 28)}) {
    KACHI_RETURN_IF_ERROR(s);
  }
  const std::string shape = absl::StrFormat("%d x %d %s", kRows, kChannels, dtype);
  KACHI_RETURN_IF_ERROR(bencher.Add("layernorm fwd", shape, 2 * tensor + 2 * params + stats, [&] {
    return cuda::LayerNormForward(out.as<T>(), mean.as<float>(), rstd.as<float>(), a.as<T>(), weight.as<T>(),
                                  bias.as<T>(), kRows, kChannels, nullptr);
  }));
  KACHI_RETURN_IF_ERROR(bencher.Add("residual+layernorm fwd", shape, 4 * tensor + 2 * params + stats, [&] {
    return cuda::ResidualLayerNormForward(residual.as<T>(), out.as<T>(), mean.as<float>(), rstd.as<float>(), a.as<T>(),
                                          b.as<T>(), weight.as<T>(), bias.as<T>(), kRows, kChannels, nullptr);
  }));
  return bencher.Add(
      "residual+layernorm bwd", shape, 4 * tensor + 5 * params + stats,
      [&] {
        return cuda::ResidualLayerNormBackward(dresidual.as<T>(), dresidual.as<T>(), dweight.as<T>(), dbias.as<T>(),
                                               dout.as<T>(), residual.as<T>(), weight.as<T>(), mean.as<float>(),
                                               rstd.as<float>(), kRows, kChannels, workspace.as<void>(),
                                               workspace_bytes, nullptr);
      },
      absl::StrFormat("+ %.1f MB of block partials written and re-read", 2.0 * workspace_bytes / 1e6));
}

template <typename T>
absl::Status BenchGelu(Bencher& bencher, const char* dtype) {
  const int64_t n = kRows * 4 * kChannels;
  const double tensor = n * static_cast<double>(sizeof(T));
  DeviceMemory in, out, dout, din;
  for (absl::Status s :
       {in.Reallocate(tensor), out.Reallocate(tensor), dout.Reallocate(tensor), din.Reallocate(tensor)}) {
    KACHI_RETURN_IF_ERROR(s);
  }
  for (absl::Status s :
       {RandomFill(in.as<T>(), n, 31, -3.0f, 3.0f), RandomFill(dout.as<T>(), n, 32), RandomFill(din.as<T>(), n, 33)}) {
    KACHI_RETURN_IF_ERROR(s);
  }
  const std::string shape = absl::StrFormat("%d x %d %s", kRows, 4 * kChannels, dtype);
  KACHI_RETURN_IF_ERROR(bencher.Add("gelu fwd", shape, 2 * tensor,
                                    [&] { return cuda::GeluForward(out.as<T>(), in.as<T>(), n, nullptr); }));
  return bencher.Add("gelu bwd", shape, 4 * tensor,
                     [&] { return cuda::GeluBackward(din.as<T>(), in.as<T>(), dout.as<T>(), n, nullptr); });
}

// AdamW (bf16 grads and params, fp32 master/m/v) and the global squared norm of the bf16 grads over GPT-2 124M.
absl::Status BenchOptimizer(Bencher& bencher) {
  const std::vector<int64_t> sizes = Gpt2ParameterSizes();
  int64_t total = 0;
  for (int64_t size : sizes) total += size;
  DeviceMemory master, param, grad, m, v, norm;
  for (absl::Status s : {master.Reallocate(total * 4), param.Reallocate(total * 2), grad.Reallocate(total * 2),
                         m.Reallocate(total * 4), v.Reallocate(total * 4), norm.Reallocate(8)}) {
    KACHI_RETURN_IF_ERROR(s);
  }
  for (absl::Status s :
       {RandomFill(master.as<float>(), total, 41), RandomFill(grad.as<bf16>(), total, 42),
        RandomFill(m.as<float>(), total, 43, -1e-3f, 1e-3f), RandomFill(v.as<float>(), total, 44, 1e-8f, 1e-6f)}) {
    KACHI_RETURN_IF_ERROR(s);
  }
  std::vector<cuda::AdamWTensor<bf16>> tensors;
  std::vector<cuda::SquaredNormTensor<bf16>> norm_tensors;
  int64_t offset = 0;
  for (int64_t size : sizes) {
    tensors.push_back(cuda::AdamWTensor<bf16>{master.as<float>() + offset, param.as<bf16>() + offset,
                                              grad.as<bf16>() + offset, m.as<float>() + offset, v.as<float>() + offset,
                                              size, size > 4 * kChannels});
    norm_tensors.push_back(cuda::SquaredNormTensor<bf16>{grad.as<bf16>() + offset, size});
    offset += size;
  }
  KACHI_ASSIGN_OR_RETURN(cuda::AdamWTensorList<bf16> list, cuda::AdamWTensorList<bf16>::Create(tensors));
  KACHI_ASSIGN_OR_RETURN(cuda::SquaredNormTensorList<bf16> norm_list,
                         cuda::SquaredNormTensorList<bf16>::Create(norm_tensors));
  cpu::AdamWHyperparameters hyper;
  hyper.learning_rate = 6e-4;
  hyper.weight_decay = 0.1;
  const std::string shape = absl::StrFormat("%d params, %d tensors", total, sizes.size());
  int64_t step = 1;
  KACHI_RETURN_IF_ERROR(bencher.Add(
      "adamw multi-tensor", shape, 28.0 * total,
      [&] { return cuda::AdamWMultiTensorStep(list, hyper, step++, 0.5f, nullptr); },
      "bf16 grad+param, fp32 master/m/v: 28 B/param"));
  return bencher.Add(
      "global squared norm", shape, 2.0 * total,
      [&] { return cuda::GlobalSquaredNorm(norm.as<double>(), norm_list, nullptr); },
      "bf16 grads, double accumulation, two passes");
}

}  // namespace

absl::Status BenchMemoryKernels(const KernelBenchCeilings& ceilings, std::ostream& out) {
  DeviceMemory flush;
  KACHI_RETURN_IF_ERROR(flush.Reallocate(kFlushBytes));
  Bencher bencher(flush.as<void>());
  const std::vector<std::function<absl::Status()>> groups = {[&] { return BenchEmbeddings(bencher); },
                                                             [&] { return BenchLayerNorm<bf16>(bencher, "bf16"); },
                                                             [&] { return BenchLayerNorm<float>(bencher, "fp32"); },
                                                             [&] { return BenchGelu<bf16>(bencher, "bf16"); },
                                                             [&] { return BenchGelu<float>(bencher, "fp32"); },
                                                             [&] { return BenchOptimizer(bencher); }};
  for (const auto& group : groups) {
    KACHI_RETURN_IF_ERROR(group());
  }
  out << absl::StrFormat("# cuda_memory kernels: median of 20 cold-L2 runs; copy ceiling %.0f GB/s\n",
                         ceilings.copy_gbps);
  out << absl::StrFormat("%-24s %-32s %10s %10s %8s %7s  %s\n", "kernel", "shape", "MB", "median_us", "GB/s", "%copy",
                         "note");
  for (const BenchRow& row : bencher.rows()) {
    const double gbps = row.bytes / (row.milliseconds * 1e-3) / 1e9;
    out << absl::StrFormat("%-24s %-32s %10.1f %10.1f %8.0f %6.1f%%  %s\n", row.kernel, row.shape, row.bytes / 1e6,
                           row.milliseconds * 1e3, gbps, 100.0 * gbps / ceilings.copy_gbps, row.note);
  }
  return absl::OkStatus();
}

}  // namespace kachi
