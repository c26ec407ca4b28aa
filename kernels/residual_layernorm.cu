// CUDA fused residual add + LayerNorm forward and backward (see residual_layernorm_cuda.h).
//
// Layout: one warp per row. Lane `lane` owns the vectors starting at column (i * 32 + lane) * VEC for
// i = 0, 1, ...; what a lane keeps in shared memory (the forward's row, the backward's dweight/dbias partials) is
// stored at [(i * VEC + k) * 32 + lane] for element k of vector i, so a warp's 32 accesses hit 32 banks.
// Two variants of each kernel: a register path (16-byte vectors, C <= 32 * VEC * ITERS with ITERS * VEC <= 24, so
// C <= 768 for fp32 and bf16), which keeps the row in registers and issues all of a row's loads at once, and a
// general path that keeps it in shared memory (any C up to kLayerNormMaxChannels, scalar or vector accesses).
#include "kernels/residual_layernorm_cuda.h"

#include <optional>
#include <type_traits>

#include "kernels/cuda_memory_util.cuh"
#include "kernels/layernorm.h"

namespace kachi::cuda {
namespace {

using internal::CeilDiv;
using internal::FromFloat;
using internal::LoadFloats;
using internal::StoreFloats;
using internal::ToFloat;
using internal::WarpSum;

constexpr int kMaxWarpsPerBlock = 8;
constexpr int kSharedBytes = 48 * 1024;
// Upper bound on backward blocks (each writes one partial row of dweight and dbias): two resident per SM of an
// H100/H200 (132 SMs) on the register path. A constant, so the row-to-warp split never depends on the device.
constexpr int64_t kMaxBackwardBlocks = 264;
// The register path holds at most this many elements of a row per lane (C <= 768 for fp32 and bf16): with 32 the
// backward spills at its 128-register cap (two blocks of 256 threads per SM).
constexpr int kMaxRegisterElements = 24;
// Threads of the column-reduction kernel: 8 warps, each lane one column.
constexpr int kReduceWarps = 8;

// `channels` rounded up to whole warp-wide passes of VEC-element vectors (shared-memory floats per warp row).
template <int VEC>
__host__ __device__ constexpr int PaddedChannels(int channels) {
  return (channels + 32 * VEC - 1) / (32 * VEC) * (32 * VEC);
}

// Shared-memory slot of element k of lane `lane`'s vector number i.
template <int VEC>
__device__ __forceinline__ int SlotOf(int i, int k, int lane) {
  return (i * VEC + k) * 32 + lane;
}

// Block partial of both backward kernels: per slot, the warps' sums added in order 0, 1, ... (dweight in
// warp_partials[w * 2 * padded + slot], dbias `padded` further), written to this block's row of `partials` at the
// column that SlotOf maps the slot from (dweight at column, dbias at channels + column).
template <int VEC>
__device__ __forceinline__ void WriteBlockPartial(const float* warp_partials, float* partials, int channels,
                                                  int padded, int warps) {
  float* block_partial = partials + static_cast<int64_t>(blockIdx.x) * 2 * channels;
  for (int slot = threadIdx.x; slot < padded; slot += blockDim.x) {
    const int slot_lane = slot % 32;
    const int element = (slot / 32) % VEC;
    const int vector = slot / 32 / VEC;
    const int column = (vector * 32 + slot_lane) * VEC + element;
    if (column >= channels) continue;
    float dweight_total = 0.0f, dbias_total = 0.0f;
    for (int w = 0; w < warps; ++w) {
      dweight_total += warp_partials[w * 2 * padded + slot];
      dbias_total += warp_partials[w * 2 * padded + padded + slot];
    }
    block_partial[column] = dweight_total;
    block_partial[channels + column] = dbias_total;
  }
}

template <typename T, int VEC, bool kHasResidual>
__global__ void ResidualLayerNormForwardKernel(T* residual_out, T* out, float* mean, float* rstd, const T* a,
                                               const T* b, const T* weight, const T* bias, int64_t rows,
                                               int channels) {
  extern __shared__ float row_cache[];
  const int lane = threadIdx.x % 32;
  const int warp = threadIdx.x / 32;
  const int64_t row = static_cast<int64_t>(blockIdx.x) * (blockDim.x / 32) + warp;
  if (row >= rows) return;
  float* cache = row_cache + warp * PaddedChannels<VEC>(channels);
  const int64_t offset = row * channels;

  float sum = 0.0f;
  for (int i = 0, c = lane * VEC; c < channels; ++i, c += 32 * VEC) {
    float x[VEC];
    LoadFloats<VEC>(x, a + offset + c);
    if constexpr (kHasResidual) {
      float y[VEC];
      LoadFloats<VEC>(y, b + offset + c);
#pragma unroll
      for (int k = 0; k < VEC; ++k) x[k] = ToFloat(FromFloat<T>(x[k] + y[k]));  // what residual_out stores
      StoreFloats<VEC>(residual_out + offset + c, x);
    }
#pragma unroll
    for (int k = 0; k < VEC; ++k) {
      cache[SlotOf<VEC>(i, k, lane)] = x[k];
      sum += x[k];
    }
  }
  const float row_mean = WarpSum(sum) / channels;

  float squares = 0.0f;
  for (int i = 0, c = lane * VEC; c < channels; ++i, c += 32 * VEC) {
#pragma unroll
    for (int k = 0; k < VEC; ++k) {
      const float centered = cache[SlotOf<VEC>(i, k, lane)] - row_mean;
      squares += centered * centered;
    }
  }
  const float row_rstd = 1.0f / sqrtf(WarpSum(squares) / channels + static_cast<float>(cpu::kLayerNormEps));

  for (int i = 0, c = lane * VEC; c < channels; ++i, c += 32 * VEC) {
    float w[VEC], shift[VEC], y[VEC];
    LoadFloats<VEC>(w, weight + c);
    LoadFloats<VEC>(shift, bias + c);
#pragma unroll
    for (int k = 0; k < VEC; ++k) y[k] = (cache[SlotOf<VEC>(i, k, lane)] - row_mean) * row_rstd * w[k] + shift[k];
    StoreFloats<VEC>(out + offset + c, y);
  }
  if (lane == 0) {
    mean[row] = row_mean;
    rstd[row] = row_rstd;
  }
}

// This thread's lane, its warp and the warps of its block (blockDim.x a multiple of 32).
struct WarpPlace {
  int lane;
  int warp;
  int warps;
};
__device__ __forceinline__ WarpPlace ThisWarp() {
  return WarpPlace{static_cast<int>(threadIdx.x % 32), static_cast<int>(threadIdx.x / 32),
                   static_cast<int>(blockDim.x / 32)};
}

// Warps that take whole rows, grid-strided: warp `warp` of block b starts at row b * warps + warp and steps
// RowsPerGrid(warps) rows at a time.
__device__ __forceinline__ int64_t FirstRowOfWarp(int warp, int warps) {
  return static_cast<int64_t>(blockIdx.x) * warps + warp;
}
__device__ __forceinline__ int64_t RowsPerGrid(int warps) { return static_cast<int64_t>(gridDim.x) * warps; }

// Rows row0, row0 + stride, ...: dx_out = dx_in + dLN; this block's dweight/dbias sums go to
// partials[blockIdx.x * 2 * channels + (0 | channels) + c].
template <typename T, int VEC>
__global__ void LayerNormBackwardKernel(T* dx_out, const T* dx_in, float* partials, const T* dout, const T* x,
                                        const T* weight, const float* mean, const float* rstd, int64_t rows,
                                        int channels) {
  extern __shared__ float warp_partials[];  // [warps][2][padded channels]: dweight sums, then dbias sums
  const auto [lane, warp, warps] = ThisWarp();
  const int padded = PaddedChannels<VEC>(channels);
  float* dweight_sums = warp_partials + warp * 2 * padded;
  float* dbias_sums = dweight_sums + padded;
  for (int slot = lane; slot < padded; slot += 32) {
    dweight_sums[slot] = 0.0f;
    dbias_sums[slot] = 0.0f;
  }
  const float inv_channels = 1.0f / channels;

  for (int64_t row = FirstRowOfWarp(warp, warps); row < rows; row += RowsPerGrid(warps)) {
    const int64_t offset = row * channels;
    const float row_mean = mean[row];
    const float row_rstd = rstd[row];
    float dnorm_sum = 0.0f, dnorm_norm_sum = 0.0f;
    for (int c = lane * VEC; c < channels; c += 32 * VEC) {
      float dy[VEC], xv[VEC], w[VEC];
      LoadFloats<VEC>(dy, dout + offset + c);
      LoadFloats<VEC>(xv, x + offset + c);
      LoadFloats<VEC>(w, weight + c);
#pragma unroll
      for (int k = 0; k < VEC; ++k) {
        const float dnorm = w[k] * dy[k];
        dnorm_sum += dnorm;
        dnorm_norm_sum += dnorm * ((xv[k] - row_mean) * row_rstd);
      }
    }
    const float dnorm_mean = WarpSum(dnorm_sum) * inv_channels;
    const float dnorm_norm_mean = WarpSum(dnorm_norm_sum) * inv_channels;

    for (int i = 0, c = lane * VEC; c < channels; ++i, c += 32 * VEC) {
      float dy[VEC], xv[VEC], w[VEC], dx[VEC];
      LoadFloats<VEC>(dy, dout + offset + c);
      LoadFloats<VEC>(xv, x + offset + c);
      LoadFloats<VEC>(w, weight + c);
      LoadFloats<VEC>(dx, dx_in + offset + c);
#pragma unroll
      for (int k = 0; k < VEC; ++k) {
        const float norm = (xv[k] - row_mean) * row_rstd;
        const int slot = SlotOf<VEC>(i, k, lane);
        dweight_sums[slot] += norm * dy[k];
        dbias_sums[slot] += dy[k];
        dx[k] += (w[k] * dy[k] - dnorm_mean - norm * dnorm_norm_mean) * row_rstd;
      }
      StoreFloats<VEC>(dx_out + offset + c, dx);
    }
  }
  __syncthreads();

  // Block partial: warps added in order 0, 1, ... for every slot; slot -> column by inverting SlotOf.
  WriteBlockPartial<VEC>(warp_partials, partials, channels, padded, warps);
}

// Register path of the forward for channels <= ITERS * 32 * VEC: the row stays in registers and every load of the
// row is issued before the first use. Same arithmetic and order of sums as ResidualLayerNormForwardKernel.
template <typename T, int VEC, int ITERS, bool kHasResidual>
__global__ void __launch_bounds__(kMaxWarpsPerBlock * 32)
    ResidualLayerNormForwardRegisterKernel(T* residual_out, T* out, float* mean, float* rstd, const T* a,
                                           const T* b, const T* weight, const T* bias, int64_t rows, int channels) {
  const int lane = threadIdx.x % 32;
  const int64_t row = static_cast<int64_t>(blockIdx.x) * (blockDim.x / 32) + threadIdx.x / 32;
  if (row >= rows) return;
  const int64_t offset = row * channels;
  float x[ITERS][VEC], y[ITERS][VEC];
#pragma unroll
  for (int i = 0; i < ITERS; ++i) {
    const int c = (i * 32 + lane) * VEC;
    if (c < channels) {
      LoadFloats<VEC>(x[i], a + offset + c);
      if constexpr (kHasResidual) LoadFloats<VEC>(y[i], b + offset + c);
    }
  }
  float sum = 0.0f;
#pragma unroll
  for (int i = 0; i < ITERS; ++i) {
    const int c = (i * 32 + lane) * VEC;
    if (c >= channels) continue;
    if constexpr (kHasResidual) {
#pragma unroll
      for (int k = 0; k < VEC; ++k) x[i][k] = ToFloat(FromFloat<T>(x[i][k] + y[i][k]));
      StoreFloats<VEC>(residual_out + offset + c, x[i]);
    }
#pragma unroll
    for (int k = 0; k < VEC; ++k) sum += x[i][k];
  }
  const float row_mean = WarpSum(sum) / channels;
  float squares = 0.0f;
#pragma unroll
  for (int i = 0; i < ITERS; ++i) {
    if ((i * 32 + lane) * VEC >= channels) continue;
#pragma unroll
    for (int k = 0; k < VEC; ++k) squares += (x[i][k] - row_mean) * (x[i][k] - row_mean);
  }
  const float row_rstd = 1.0f / sqrtf(WarpSum(squares) / channels + static_cast<float>(cpu::kLayerNormEps));
#pragma unroll
  for (int i = 0; i < ITERS; ++i) {
    const int c = (i * 32 + lane) * VEC;
    if (c >= channels) continue;
    float w[VEC], shift[VEC], result[VEC];
    LoadFloats<VEC>(w, weight + c);
    LoadFloats<VEC>(shift, bias + c);
#pragma unroll
    for (int k = 0; k < VEC; ++k) result[k] = (x[i][k] - row_mean) * row_rstd * w[k] + shift[k];
    StoreFloats<VEC>(out + offset + c, result);
  }
  if (lane == 0) {
    mean[row] = row_mean;
    rstd[row] = row_rstd;
  }
}

// Register path of the backward for channels <= ITERS * 32 * VEC: a row's dout and normalized input stay in
// registers between the two passes, and each lane sums its columns' dweight/dbias terms over its rows in
// registers, writing them to its warp's shared-memory partial once at the end. Rows, warps and blocks are
// combined in the same fixed orders as LayerNormBackwardKernel.
template <typename T, int VEC, int ITERS>
__global__ void __launch_bounds__(kMaxWarpsPerBlock * 32, 2)
    LayerNormBackwardRegisterKernel(T* dx_out, const T* dx_in, float* partials, const T* dout, const T* x,
                                    const T* weight, const float* mean, const float* rstd, int64_t rows,
                                    int channels) {
  extern __shared__ float warp_partials[];  // [warps][2][padded channels]: dweight sums, then dbias sums
  const auto [lane, warp, warps] = ThisWarp();
  const int padded = PaddedChannels<VEC>(channels);
  const float inv_channels = 1.0f / channels;
  float dweight_sums[ITERS][VEC] = {}, dbias_sums[ITERS][VEC] = {};

  for (int64_t row = FirstRowOfWarp(warp, warps); row < rows; row += RowsPerGrid(warps)) {
    const int64_t offset = row * channels;
    const float row_mean = mean[row];
    const float row_rstd = rstd[row];
    float dy[ITERS][VEC], norm[ITERS][VEC];
#pragma unroll
    for (int i = 0; i < ITERS; ++i) {
      const int c = (i * 32 + lane) * VEC;
      if (c < channels) {
        LoadFloats<VEC>(dy[i], dout + offset + c);
        LoadFloats<VEC>(norm[i], x + offset + c);
      }
    }
    float dnorm_sum = 0.0f, dnorm_norm_sum = 0.0f;
#pragma unroll
    for (int i = 0; i < ITERS; ++i) {
      const int c = (i * 32 + lane) * VEC;
      if (c >= channels) continue;
      float w[VEC];
      LoadFloats<VEC>(w, weight + c);
#pragma unroll
      for (int k = 0; k < VEC; ++k) {
        norm[i][k] = (norm[i][k] - row_mean) * row_rstd;
        const float dnorm = w[k] * dy[i][k];
        dnorm_sum += dnorm;
        dnorm_norm_sum += dnorm * norm[i][k];
      }
    }
    const float dnorm_mean = WarpSum(dnorm_sum) * inv_channels;
    const float dnorm_norm_mean = WarpSum(dnorm_norm_sum) * inv_channels;
#pragma unroll
    for (int i = 0; i < ITERS; ++i) {
      const int c = (i * 32 + lane) * VEC;
      if (c >= channels) continue;
      float w[VEC], dx[VEC];
      LoadFloats<VEC>(w, weight + c);
      LoadFloats<VEC>(dx, dx_in + offset + c);
#pragma unroll
      for (int k = 0; k < VEC; ++k) {
        dweight_sums[i][k] += norm[i][k] * dy[i][k];
        dbias_sums[i][k] += dy[i][k];
        dx[k] += (w[k] * dy[i][k] - dnorm_mean - norm[i][k] * dnorm_norm_mean) * row_rstd;
      }
      StoreFloats<VEC>(dx_out + offset + c, dx);
    }
  }

  float* my_dweight = warp_partials + warp * 2 * padded;
  float* my_dbias = my_dweight + padded;
#pragma unroll
  for (int i = 0; i < ITERS; ++i) {
    if ((i * 32 + lane) * VEC >= padded) continue;
#pragma unroll
    for (int k = 0; k < VEC; ++k) {
      my_dweight[SlotOf<VEC>(i, k, lane)] = dweight_sums[i][k];
      my_dbias[SlotOf<VEC>(i, k, lane)] = dbias_sums[i][k];
    }
  }
  __syncthreads();
  WriteBlockPartial<VEC>(warp_partials, partials, channels, padded, warps);
}

// dweight[c] += sum over blocks of partials[block][c], dbias likewise (entries channels..2*channels-1). One block
// per 32 entries: warp w sums blocks w, w + 8, ... in order, then the 8 warp sums are added in warp order.
template <typename T>
__global__ void LayerNormParameterGradientKernel(T* dweight, T* dbias, const float* partials, int num_blocks,
                                                 int channels) {
  __shared__ float warp_sums[kReduceWarps][32];
  const int lane = threadIdx.x % 32;
  const int warp = threadIdx.x / 32;
  const int entry = blockIdx.x * 32 + lane;
  const int entries = 2 * channels;
  float sum = 0.0f;
  if (entry < entries) {
    for (int block = warp; block < num_blocks; block += kReduceWarps) {
      sum += partials[static_cast<int64_t>(block) * entries + entry];
    }
  }
  warp_sums[warp][lane] = sum;
  __syncthreads();
  if (warp != 0 || entry >= entries) return;
  float total = 0.0f;
  for (int w = 0; w < kReduceWarps; ++w) total += warp_sums[w][lane];
  T* target = entry < channels ? dweight + entry : dbias + (entry - channels);
  *target = FromFloat<T>(ToFloat(*target) + total);
}

absl::Status CheckShape(const char* op, int64_t rows, int64_t channels) {
  if (rows < 0 || channels < 1 || channels > kLayerNormMaxChannels) {
    return absl::InvalidArgumentError(absl::StrCat(op, ": rows = ", rows, ", channels = ", channels,
                                                   "; expected rows >= 0 and 1 <= channels <= ",
                                                   kLayerNormMaxChannels));
  }
  return absl::OkStatus();
}

// Warps per block so that `floats_per_warp` shared floats per warp fit in 48 KB (at least 1: CheckShape bounds it).
int WarpsPerBlock(int floats_per_warp) {
  const int fit = kSharedBytes / (floats_per_warp * static_cast<int>(sizeof(float)));
  return fit < kMaxWarpsPerBlock ? (fit < 1 ? 1 : fit) : kMaxWarpsPerBlock;
}

int64_t BackwardBlocks(int64_t rows) {
  const int64_t wanted = CeilDiv(rows, kMaxWarpsPerBlock);
  return wanted < kMaxBackwardBlocks ? wanted : kMaxBackwardBlocks;
}

// The register-path forward with ITERS vectors per lane.
template <typename T, int VEC, int ITERS>
absl::Status LaunchForwardRegisters(T* residual_out, T* out, float* mean, float* rstd, const T* a, const T* b,
                                    const T* weight, const T* bias, int64_t rows, int channels, cudaStream_t stream) {
  const int64_t blocks = CeilDiv(rows, kMaxWarpsPerBlock);
  if (b != nullptr) {
    ResidualLayerNormForwardRegisterKernel<T, VEC, ITERS, true><<<blocks, kMaxWarpsPerBlock * 32, 0, stream>>>(
        residual_out, out, mean, rstd, a, b, weight, bias, rows, channels);
  } else {
    ResidualLayerNormForwardRegisterKernel<T, VEC, ITERS, false><<<blocks, kMaxWarpsPerBlock * 32, 0, stream>>>(
        residual_out, out, mean, rstd, a, b, weight, bias, rows, channels);
  }
  return internal::LaunchStatus("ResidualLayerNormForwardRegisterKernel");
}

// The register-path backward with ITERS vectors per lane.
template <typename T, int VEC, int ITERS>
absl::Status LaunchBackwardRegisters(T* dx_out, const T* dx_in, float* partials, const T* dout, const T* x,
                                     const T* weight, const float* mean, const float* rstd, int64_t rows,
                                     int channels, cudaStream_t stream) {
  const size_t shared = static_cast<size_t>(kMaxWarpsPerBlock) * 2 * PaddedChannels<VEC>(channels) * sizeof(float);
  LayerNormBackwardRegisterKernel<T, VEC, ITERS><<<BackwardBlocks(rows), kMaxWarpsPerBlock * 32, shared, stream>>>(
      dx_out, dx_in, partials, dout, x, weight, mean, rstd, rows, channels);
  return internal::LaunchStatus("LayerNormBackwardRegisterKernel");
}

// Returns launch(std::integral_constant<int, ITERS>) for the smallest ITERS in {1, 2, 3, 4, 6} with
// ITERS * 32 * VEC >= channels and ITERS * VEC <= kMaxRegisterElements; nullopt when none fits.
template <int VEC, typename Launch>
std::optional<absl::Status> DispatchRegisterPath(int channels, Launch&& launch) {
  const int iters = static_cast<int>(CeilDiv(channels, 32 * VEC));
  auto run = [&](auto iters_constant) -> std::optional<absl::Status> {
    if constexpr (decltype(iters_constant)::value * VEC <= kMaxRegisterElements) {
      return launch(iters_constant);
    } else {
      return std::nullopt;
    }
  };
  if (iters <= 1) return run(std::integral_constant<int, 1>{});
  if (iters <= 2) return run(std::integral_constant<int, 2>{});
  if (iters <= 3) return run(std::integral_constant<int, 3>{});
  if (iters <= 4) return run(std::integral_constant<int, 4>{});
  if (iters <= 6) return run(std::integral_constant<int, 6>{});
  return std::nullopt;
}

template <typename T, int VEC>
absl::Status LaunchForward(T* residual_out, T* out, float* mean, float* rstd, const T* a, const T* b,
                           const T* weight, const T* bias, int64_t rows, int channels, cudaStream_t stream) {
  if constexpr (VEC > 1) {
    std::optional<absl::Status> status = DispatchRegisterPath<VEC>(channels, [&](auto iters) {
      return LaunchForwardRegisters<T, VEC, decltype(iters)::value>(residual_out, out, mean, rstd, a, b, weight, bias,
                                                                    rows, channels, stream);
    });
    if (status.has_value()) return *status;
  }
  const int warps = WarpsPerBlock(PaddedChannels<VEC>(channels));
  const size_t shared = static_cast<size_t>(warps) * PaddedChannels<VEC>(channels) * sizeof(float);
  const int64_t blocks = CeilDiv(rows, warps);
  if (b != nullptr) {
    ResidualLayerNormForwardKernel<T, VEC, true><<<blocks, warps * 32, shared, stream>>>(
        residual_out, out, mean, rstd, a, b, weight, bias, rows, channels);
  } else {
    ResidualLayerNormForwardKernel<T, VEC, false><<<blocks, warps * 32, shared, stream>>>(
        residual_out, out, mean, rstd, a, b, weight, bias, rows, channels);
  }
  return internal::LaunchStatus("ResidualLayerNormForwardKernel");
}

template <typename T, int VEC>
absl::Status LaunchBackward(T* dx_out, const T* dx_in, float* partials, const T* dout, const T* x, const T* weight,
                            const float* mean, const float* rstd, int64_t rows, int channels, cudaStream_t stream) {
  if constexpr (VEC > 1) {
    std::optional<absl::Status> status = DispatchRegisterPath<VEC>(channels, [&](auto iters) {
      return LaunchBackwardRegisters<T, VEC, decltype(iters)::value>(dx_out, dx_in, partials, dout, x, weight, mean,
                                                                     rstd, rows, channels, stream);
    });
    if (status.has_value()) return *status;
  }
  const int warps = WarpsPerBlock(2 * PaddedChannels<VEC>(channels));
  const size_t shared = static_cast<size_t>(warps) * 2 * PaddedChannels<VEC>(channels) * sizeof(float);
  LayerNormBackwardKernel<T, VEC><<<BackwardBlocks(rows), warps * 32, shared, stream>>>(
      dx_out, dx_in, partials, dout, x, weight, mean, rstd, rows, channels);
  return internal::LaunchStatus("LayerNormBackwardKernel");
}

}  // namespace

namespace internal {

template <typename T>
absl::Status LaunchLayerNormForward(T* residual_out, T* out, float* mean, float* rstd, const T* a, const T* b,
                                    const T* weight, const T* bias, int64_t rows, int64_t channels,
                                    cudaStream_t stream) {
  if (absl::Status status = CheckShape("LayerNormForward", rows, channels); !status.ok() || rows == 0) {
    return status;
  }
  constexpr int kVec = kVec16<T>;
  const bool aligned = channels % kVec == 0 && IsAligned16(residual_out) && IsAligned16(out) && IsAligned16(a) &&
                       IsAligned16(b) && IsAligned16(weight) && IsAligned16(bias);
  if (aligned) {
    return LaunchForward<T, kVec>(residual_out, out, mean, rstd, a, b, weight, bias, rows, channels, stream);
  }
  return LaunchForward<T, 1>(residual_out, out, mean, rstd, a, b, weight, bias, rows, channels, stream);
}

}  // namespace internal

template <typename T>
absl::Status ResidualLayerNormForward(T* residual_out, T* out, float* mean, float* rstd, const T* a, const T* b,
                                      const T* weight, const T* bias, int64_t rows, int64_t channels,
                                      cudaStream_t stream) {
  if (residual_out == nullptr || b == nullptr) {
    return absl::InvalidArgumentError("ResidualLayerNormForward: residual_out and b must be device pointers, got null");
  }
  return internal::LaunchLayerNormForward(residual_out, out, mean, rstd, a, b, weight, bias, rows, channels, stream);
}

absl::StatusOr<size_t> LayerNormBackwardWorkspaceBytes(int64_t rows, int64_t channels) {
  if (absl::Status status = CheckShape("LayerNormBackwardWorkspaceBytes", rows, channels); !status.ok()) {
    return status;
  }
  return static_cast<size_t>(BackwardBlocks(rows)) * 2 * channels * sizeof(float);
}

template <typename T>
absl::Status ResidualLayerNormBackward(T* dresidual_out, const T* dresidual_in, T* dweight, T* dbias, const T* dout,
                                       const T* residual, const T* weight, const float* mean, const float* rstd,
                                       int64_t rows, int64_t channels, void* workspace, size_t workspace_bytes,
                                       cudaStream_t stream) {
  absl::StatusOr<size_t> needed = LayerNormBackwardWorkspaceBytes(rows, channels);
  if (!needed.ok()) return needed.status();
  if (rows == 0) return absl::OkStatus();
  if (workspace == nullptr || workspace_bytes < *needed) {
    return absl::InvalidArgumentError(absl::StrCat("LayerNormBackward: workspace of ", workspace_bytes,
                                                   " bytes, expected at least ", *needed));
  }
  float* partials = static_cast<float*>(workspace);
  constexpr int kVec = internal::kVec16<T>;
  const bool aligned = channels % kVec == 0 && internal::IsAligned16(dresidual_out) &&
                       internal::IsAligned16(dresidual_in) && internal::IsAligned16(dout) &&
                       internal::IsAligned16(residual) && internal::IsAligned16(weight);
  const int channels32 = static_cast<int>(channels);
  const absl::Status status =
      aligned ? LaunchBackward<T, kVec>(dresidual_out, dresidual_in, partials, dout, residual, weight, mean, rstd,
                                        rows, channels32, stream)
              : LaunchBackward<T, 1>(dresidual_out, dresidual_in, partials, dout, residual, weight, mean, rstd, rows,
                                     channels32, stream);
  if (!status.ok()) return status;
  LayerNormParameterGradientKernel<T><<<CeilDiv(2 * channels, 32), kReduceWarps * 32, 0, stream>>>(
      dweight, dbias, partials, static_cast<int>(BackwardBlocks(rows)), channels32);
  return internal::LaunchStatus("LayerNormParameterGradientKernel");
}

template <typename T>
absl::Status ResidualLayerNormBackward(T* dresidual_out, const T* dresidual_in, T* dweight, T* dbias, const T* dout,
                                       const T* residual, const T* weight, const float* mean, const float* rstd,
                                       int64_t rows, int64_t channels, cudaStream_t stream) {
  absl::StatusOr<size_t> bytes = LayerNormBackwardWorkspaceBytes(rows, channels);
  if (!bytes.ok()) return bytes.status();
  if (rows == 0) return absl::OkStatus();
  void* workspace = nullptr;
  KACHI_CUDA_RETURN_IF_ERROR(cudaMallocAsync(&workspace, *bytes, stream));
  const absl::Status status = ResidualLayerNormBackward(dresidual_out, dresidual_in, dweight, dbias, dout, residual,
                                                        weight, mean, rstd, rows, channels, workspace, *bytes, stream);
  const absl::Status free_status = internal::CudaStatus(cudaFreeAsync(workspace, stream), "cudaFreeAsync");
  return status.ok() ? free_status : status;
}

#define KACHI_INSTANTIATE_RESIDUAL_LAYERNORM(T)                                                                     \
  template absl::Status ResidualLayerNormForward<T>(T*, T*, float*, float*, const T*, const T*, const T*, const T*, \
                                                    int64_t, int64_t, cudaStream_t);                                \
  template absl::Status ResidualLayerNormBackward<T>(T*, const T*, T*, T*, const T*, const T*, const T*,            \
                                                     const float*, const float*, int64_t, int64_t, void*, size_t,   \
                                                     cudaStream_t);                                                 \
  template absl::Status ResidualLayerNormBackward<T>(T*, const T*, T*, T*, const T*, const T*, const T*,            \
                                                     const float*, const float*, int64_t, int64_t, cudaStream_t);   \
  template absl::Status internal::LaunchLayerNormForward<T>(T*, T*, float*, float*, const T*, const T*, const T*,   \
                                                            const T*, int64_t, int64_t, cudaStream_t);
KACHI_INSTANTIATE_RESIDUAL_LAYERNORM(float)
KACHI_INSTANTIATE_RESIDUAL_LAYERNORM(__nv_bfloat16)
#undef KACHI_INSTANTIATE_RESIDUAL_LAYERNORM

}  // namespace kachi::cuda
