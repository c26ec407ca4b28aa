// bf16 flash attention forward (see attention_cuda.h): one block per (batch*head, query tile of 16 rows per
// warp); K/V tiles of 64 keys stream through shared memory (cp.async, two stages); S = Q K^T and O += P V with
// mma.sync m16n8k16; online softmax in fp32 registers; writes out and the row logsumexp.
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cmath>
#include <cstdint>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "kernels/attention_common.cuh"
#include "kernels/attention_cuda.h"
#include "kernels/attention_mma.cuh"
#include "kernels/base/status_macros.h"

namespace kachi::cuda {
namespace attention_internal {
namespace {

constexpr int kKeyTile = 64;  // keys per shared-memory tile (Bc)
constexpr float kLn2 = 0.6931471805599453f;

// Shared-memory bytes of the forward with kWarps warps: the query tile plus two stages of K and V tiles.
template <int kWarps>
constexpr int ForwardSharedBytes() {
  return (16 * kWarps + 4 * kKeyTile) * kSmemStride * static_cast<int>(sizeof(bf16));
}

// Grid (batch * heads, query tiles); query tiles run last-first so the longest causal rows start first.
// 16 warps per SM in either shape (128 registers per thread).
template <int kWarps>
__global__ void __launch_bounds__(kWarps * 32, 16 / kWarps)
    FlashForwardBf16Kernel(bf16* out, float* logsumexp, const bf16* qkv, int seq_len, int num_heads,
                           float scale_log2) {
  constexpr int kThreads = kWarps * 32;
  constexpr int kQueryRows = 16 * kWarps;
  extern __shared__ __align__(16) unsigned char shared_bytes[];
  bf16* query_tile = reinterpret_cast<bf16*>(shared_bytes);
  bf16* key_tiles = query_tile + kQueryRows * kSmemStride;  // 2 stages
  bf16* value_tiles = key_tiles + 2 * kKeyTile * kSmemStride;  // 2 stages

  const HeadTile<bf16> block(qkv, kQueryRows, /*last_first=*/true, seq_len, num_heads);
  const int query_start = block.start;
  const int warp = threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  const int warp_row0 = query_start + warp * 16;

  const int query_end = min(seq_len, query_start + kQueryRows);
  const int key_tiles_needed = (query_end + kKeyTile - 1) / kKeyTile;

  LoadTileAsync<kQueryRows, kThreads>(query_tile, block.query, block.row_stride, query_start, seq_len);
  LoadTileAsync<kKeyTile, kThreads>(key_tiles, block.key, block.row_stride, 0, seq_len);
  LoadTileAsync<kKeyTile, kThreads>(value_tiles, block.value, block.row_stride, 0, seq_len);
  CopyAsyncCommit();

  uint32_t query_fragments[4][4];
  float out_acc[8][4];
  ZeroAccumulator(out_acc);
  float row_max[2] = {-INFINITY, -INFINITY};  // running max of scaled log2 scores, rows lane/4 and lane/4 + 8
  float row_sum[2] = {0.0f, 0.0f};            // this thread's share of the running denominator

  for (int tile = 0; tile < key_tiles_needed; ++tile) {
    const int stage = tile & 1;
    if (tile + 1 < key_tiles_needed) {
      const int next = (stage ^ 1) * kKeyTile * kSmemStride;
      LoadTileAsync<kKeyTile, kThreads>(key_tiles + next, block.key, block.row_stride, (tile + 1) * kKeyTile, seq_len);
      LoadTileAsync<kKeyTile, kThreads>(value_tiles + next, block.value, block.row_stride, (tile + 1) * kKeyTile,
                                        seq_len);
    }
    CopyAsyncCommit();
    CopyAsyncWait<1>();
    __syncthreads();
    if (tile == 0) LoadRowFragments(query_fragments, query_tile, warp * 16);

    const int key_start = tile * kKeyTile;
    if (key_start <= warp_row0 + 15) {  // some key of this tile is visible to some row of this warp
      const bf16* keys = key_tiles + stage * kKeyTile * kSmemStride;
      const bf16* values = value_tiles + stage * kKeyTile * kSmemStride;
      float scores[8][4];
      ZeroAccumulator(scores);
      MmaTransposedTile(scores, query_fragments, keys);

      if (key_start + kKeyTile - 1 > warp_row0) {  // the causal diagonal crosses this warp's rows
#pragma unroll
        for (int n = 0; n < 8; ++n) {
#pragma unroll
          for (int e = 0; e < 4; ++e) {
            const int key = key_start + n * 8 + 2 * (lane % 4) + (e & 1);
            const int row = warp_row0 + lane / 4 + (e >> 1) * 8;
            if (key > row) scores[n][e] = -INFINITY;
          }
        }
      }

#pragma unroll
      for (int half = 0; half < 2; ++half) {
        float tile_max = -INFINITY;
#pragma unroll
        for (int n = 0; n < 8; ++n) tile_max = fmaxf(tile_max, fmaxf(scores[n][2 * half], scores[n][2 * half + 1]));
        tile_max = fmaxf(tile_max, __shfl_xor_sync(0xffffffffu, tile_max, 1));
        tile_max = fmaxf(tile_max, __shfl_xor_sync(0xffffffffu, tile_max, 2));
        const float new_max = fmaxf(row_max[half], tile_max * scale_log2);
        const float subtract = new_max == -INFINITY ? 0.0f : new_max;  // a row with nothing visible yet
        const float rescale = FastExp2(row_max[half] - subtract);
        row_max[half] = new_max;
        float partial = 0.0f;
#pragma unroll
        for (int n = 0; n < 8; ++n) {
#pragma unroll
          for (int e = 2 * half; e < 2 * half + 2; ++e) {
            scores[n][e] = FastExp2(fmaf(scores[n][e], scale_log2, -subtract));
            partial += scores[n][e];
          }
          out_acc[n][2 * half] *= rescale;
          out_acc[n][2 * half + 1] *= rescale;
        }
        row_sum[half] = row_sum[half] * rescale + partial;
      }

      uint32_t probabilities[4][4];
      AccumulatorToFragments(probabilities, scores);
      MmaTile(out_acc, probabilities, values);
    }
    __syncthreads();  // every warp is done with this stage before the next prefetch overwrites it
  }

  bf16* out_base = block.OutRows(out);
#pragma unroll
  for (int half = 0; half < 2; ++half) {
    float total = row_sum[half];
    total += __shfl_xor_sync(0xffffffffu, total, 1);
    total += __shfl_xor_sync(0xffffffffu, total, 2);
    const float inverse = 1.0f / total;
    const int row = warp_row0 + lane / 4 + half * 8;
    if (row >= seq_len) continue;
    bf16* destination = out_base + static_cast<int64_t>(row) * block.out_stride + 2 * (lane % 4);
#pragma unroll
    for (int n = 0; n < 8; ++n) {
      *reinterpret_cast<__nv_bfloat162*>(destination + n * 8) =
          __floats2bfloat162_rn(out_acc[n][2 * half] * inverse, out_acc[n][2 * half + 1] * inverse);
    }
    if (lane % 4 == 0) {
      block.StatRows(logsumexp)[row] = (row_max[half] + log2f(total)) * kLn2;
    }
  }
}

template <int kWarps>
absl::Status LaunchForwardBf16(bf16* out, float* logsumexp, const bf16* qkv, int64_t batch, int64_t seq_len,
                               int64_t num_heads, cudaStream_t stream) {
  constexpr int kSharedBytes = ForwardSharedBytes<kWarps>();
  const cudaError_t attribute_error = cudaFuncSetAttribute(
      FlashForwardBf16Kernel<kWarps>, cudaFuncAttributeMaxDynamicSharedMemorySize, kSharedBytes);
  if (absl::Status status = CudaStatus(attribute_error, "cudaFuncSetAttribute(FlashForwardBf16Kernel)");
      !status.ok()) {
    return status;
  }
  const dim3 grid(static_cast<unsigned>(batch * num_heads), TileCount(seq_len, 16 * kWarps));
  const float scale_log2 = kLog2e / std::sqrt(static_cast<float>(kHeadSize));
  FlashForwardBf16Kernel<kWarps><<<grid, kWarps * 32, kSharedBytes, stream>>>(
      out, logsumexp, qkv, static_cast<int>(seq_len), static_cast<int>(num_heads), scale_log2);
  return LastLaunchStatus("FlashForwardBf16Kernel launch");
}

}  // namespace

// Declared in attention_common.cuh.
absl::Status ForwardForType(bf16* out, float* logsumexp, const bf16* qkv, int64_t batch, int64_t seq_len,
                            int64_t num_heads, int64_t head_size, cudaStream_t stream) {
  return AttentionForwardBf16WithQueryTile(kDefaultForwardQueryRows, out, logsumexp, qkv, batch, seq_len, num_heads,
                                           head_size, stream);
}

}  // namespace attention_internal

using attention_internal::bf16;
using attention_internal::CheckAligned;
using attention_internal::CheckShapes;
using attention_internal::LaunchForwardBf16;

absl::Status AttentionForwardBf16WithQueryTile(int query_tile_rows, void* out, float* logsumexp, const void* qkv,
                                               int64_t batch, int64_t seq_len, int64_t num_heads,
                                               int64_t head_size, cudaStream_t stream) {
  constexpr const char* kOp = "AttentionForward<bf16>";
  KACHI_RETURN_IF_ERROR(CheckShapes(kOp, batch, seq_len, num_heads, head_size));
  for (const auto& [name, pointer] : {std::pair<const char*, const void*>{"out", out}, {"qkv", qkv}}) {
    KACHI_RETURN_IF_ERROR(CheckAligned(kOp, name, pointer));
  }
  bf16* out_bf16 = static_cast<bf16*>(out);
  const bf16* qkv_bf16 = static_cast<const bf16*>(qkv);
  switch (query_tile_rows) {
    case 64:
      return LaunchForwardBf16<4>(out_bf16, logsumexp, qkv_bf16, batch, seq_len, num_heads, stream);
    case 128:
      return LaunchForwardBf16<8>(out_bf16, logsumexp, qkv_bf16, batch, seq_len, num_heads, stream);
    default:
      return absl::InvalidArgumentError(
          absl::StrCat(kOp, ": query_tile_rows must be 64 or 128, got ", query_tile_rows));
  }
}

template absl::Status AttentionForward<bf16>(bf16*, float*, const bf16*, int64_t, int64_t, int64_t, int64_t,
                                             cudaStream_t);

}  // namespace kachi::cuda
