// bf16 flash attention backward (see attention_cuda.h), FlashAttention-2 style: (1) D = rowsum(dO * O); (2) one
// block per key/value tile of 64 keys loops over the query tiles at or after it and accumulates dK, dV in registers;
// (3) one block per query tile of 64 rows loops over the key/value tiles at or before it and accumulates dQ. Each
// output element has one owner: deterministic.
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cmath>
#include <cstdint>
#include <utility>

#include "absl/status/status.h"
#include "kernels/attention_common.cuh"
#include "kernels/attention_cuda.h"
#include "kernels/attention_mma.cuh"
#include "kernels/base/status_macros.h"

namespace kachi::cuda {
namespace attention_internal {
namespace {

constexpr int kBackwardTile = 64;  // rows per block and per streamed tile in the backward

// D[b, h, t] = sum_d dout[b, t, h, d] * out[b, t, h, d]; one group of 8 lanes per row (8 bf16 each).
__global__ void RowDotBf16Kernel(float* row_dot, const bf16* dout, const bf16* out, int64_t rows, int seq_len,
                                 int num_heads) {
  const int64_t row = (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / 8;
  const int part = threadIdx.x % 8;
  float sum = 0.0f;
  if (row < rows) {
    const int64_t batch_head = row / seq_len;
    const int position = static_cast<int>(row % seq_len);
    const int64_t batch = batch_head / num_heads;
    const int head = static_cast<int>(batch_head % num_heads);
    const int64_t offset = ((batch * seq_len + position) * num_heads + head) * kHeadSize + part * 8;
    const uint4 a = *reinterpret_cast<const uint4*>(dout + offset);
    const uint4 b = *reinterpret_cast<const uint4*>(out + offset);
    const __nv_bfloat162* a2 = reinterpret_cast<const __nv_bfloat162*>(&a);
    const __nv_bfloat162* b2 = reinterpret_cast<const __nv_bfloat162*>(&b);
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      const float2 x = __bfloat1622float2(a2[i]);
      const float2 y = __bfloat1622float2(b2[i]);
      sum = fmaf(x.x, y.x, fmaf(x.y, y.y, sum));
    }
  }
  sum += __shfl_xor_sync(0xffffffffu, sum, 1);
  sum += __shfl_xor_sync(0xffffffffu, sum, 2);
  sum += __shfl_xor_sync(0xffffffffu, sum, 4);
  if (row < rows && part == 0) row_dot[row] = sum;
}

// Starts copying `count` floats of a [batch*head, seq_len] statistic from position `start` into shared memory
// (zero past seq_len), with threads [first_thread, first_thread + count).
__device__ __forceinline__ void LoadRowStatAsync(float* shared, const float* row_base, int start, int seq_len,
                                                 int first_thread, int count) {
  const int index = static_cast<int>(threadIdx.x) - first_thread;
  if (index >= 0 && index < count) {
    const int position = start + index;
    const bool valid = position < seq_len;
    CopyAsync4(shared + index, row_base + (valid ? position : 0), valid);
  }
}

// Waits for the first of two committed copy groups (the rows a block keeps in registers, staged in the second
// stage's buffers) and loads this warp's 16 rows of `first_tile` and `second_tile` into fragments; the second stage
// is free again on return.
__device__ __forceinline__ void LoadFirstGroupFragments(uint32_t (&first)[4][4], const bf16* first_tile,
                                                        uint32_t (&second)[4][4], const bf16* second_tile, int warp) {
  CopyAsyncWait<1>();
  __syncthreads();
  LoadRowFragments(first, first_tile, warp * 16);
  LoadRowFragments(second, second_tile, warp * 16);
  __syncthreads();
}

// dK, dV. Grid (batch * heads, key tiles of 64), 4 warps of 16 keys. Block `blockIdx.y` owns keys
// [64 y, 64 y + 64) and loops over query tiles y, y+1, ...: S^T = K Q^T, P^T = exp(S^T - lse), dV += P^T dO,
// dP^T = V dO^T, dS^T = P^T (dP^T - D), dK += dS^T Q. Zero-filled rows past seq_len contribute nothing.
__global__ void __launch_bounds__(128)
    FlashBackwardKeyValueBf16Kernel(bf16* dqkv, const bf16* dout, const bf16* qkv, const float* logsumexp,
                                    const float* row_dot, int seq_len, int num_heads, float scale_log2,
                                    float scale) {
  constexpr int kThreads = 128;
  constexpr int kTileElements = kBackwardTile * kSmemStride;
  __shared__ __align__(16) bf16 query_tiles[2 * kTileElements];
  __shared__ __align__(16) bf16 dout_tiles[2 * kTileElements];
  __shared__ float lse_tiles[2][kBackwardTile];
  __shared__ float row_dot_tiles[2][kBackwardTile];

  // Tile 0 has the most query tiles: it starts first.
  const HeadTile<bf16> block(qkv, kBackwardTile, /*last_first=*/false, seq_len, num_heads);
  const int key_start = block.start;
  const int warp = threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  const int warp_key0 = key_start + warp * 16;
  const bf16* dout_base = block.OutRows(dout);
  const float* lse_base = block.StatRows(logsumexp);
  const float* row_dot_base = block.StatRows(row_dot);

  // Keys and values go through the second stage's buffers into registers first.
  LoadTileAsync<kBackwardTile, kThreads>(query_tiles + kTileElements, block.key, block.row_stride, key_start, seq_len);
  LoadTileAsync<kBackwardTile, kThreads>(dout_tiles + kTileElements, block.value, block.row_stride, key_start, seq_len);
  CopyAsyncCommit();
  LoadTileAsync<kBackwardTile, kThreads>(query_tiles, block.query, block.row_stride, key_start, seq_len);
  LoadTileAsync<kBackwardTile, kThreads>(dout_tiles, dout_base, block.out_stride, key_start, seq_len);
  LoadRowStatAsync(lse_tiles[0], lse_base, key_start, seq_len, 0, kBackwardTile);
  LoadRowStatAsync(row_dot_tiles[0], row_dot_base, key_start, seq_len, kBackwardTile, kBackwardTile);
  CopyAsyncCommit();
  uint32_t key_fragments[4][4];
  uint32_t value_fragments[4][4];
  LoadFirstGroupFragments(key_fragments, query_tiles + kTileElements, value_fragments, dout_tiles + kTileElements,
                          warp);

  float dkey[8][4];
  float dvalue[8][4];
  ZeroAccumulator(dkey);
  ZeroAccumulator(dvalue);
  const int query_tiles_total = (seq_len + kBackwardTile - 1) / kBackwardTile;
  for (int tile = blockIdx.y; tile < query_tiles_total; ++tile) {
    const int stage = (tile - blockIdx.y) & 1;
    if (tile + 1 < query_tiles_total) {
      const int next_stage = stage ^ 1;
      const int next_start = (tile + 1) * kBackwardTile;
      LoadTileAsync<kBackwardTile, kThreads>(query_tiles + next_stage * kTileElements, block.query, block.row_stride,
                                             next_start, seq_len);
      LoadTileAsync<kBackwardTile, kThreads>(dout_tiles + next_stage * kTileElements, dout_base, block.out_stride,
                                             next_start, seq_len);
      LoadRowStatAsync(lse_tiles[next_stage], lse_base, next_start, seq_len, 0, kBackwardTile);
      LoadRowStatAsync(row_dot_tiles[next_stage], row_dot_base, next_start, seq_len, kBackwardTile, kBackwardTile);
    }
    CopyAsyncCommit();
    CopyAsyncWait<1>();
    __syncthreads();

    const int query_start = tile * kBackwardTile;
    const bf16* queries = query_tiles + stage * kTileElements;
    const bf16* douts = dout_tiles + stage * kTileElements;
    const float* lse = lse_tiles[stage];
    const float* dots = row_dot_tiles[stage];

    float probabilities[8][4];  // P^T: rows = this warp's keys, columns = the tile's queries
    ZeroAccumulator(probabilities);
    MmaTransposedTile(probabilities, key_fragments, queries);
    const bool on_diagonal = query_start < warp_key0 + 15;
#pragma unroll
    for (int n = 0; n < 8; ++n) {
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int query_local = n * 8 + 2 * (lane % 4) + (e & 1);
        float p = FastExp2(fmaf(probabilities[n][e], scale_log2, -lse[query_local] * kLog2e));
        if (on_diagonal && query_start + query_local < warp_key0 + lane / 4 + (e >> 1) * 8) p = 0.0f;
        probabilities[n][e] = p;
      }
    }
    uint32_t probability_fragments[4][4];
    AccumulatorToFragments(probability_fragments, probabilities);
    MmaTile(dvalue, probability_fragments, douts);

    float dscores[8][4];  // dP^T, then dS^T
    ZeroAccumulator(dscores);
    MmaTransposedTile(dscores, value_fragments, douts);
#pragma unroll
    for (int n = 0; n < 8; ++n) {
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int query_local = n * 8 + 2 * (lane % 4) + (e & 1);
        dscores[n][e] = probabilities[n][e] * (dscores[n][e] - dots[query_local]);
      }
    }
    uint32_t dscore_fragments[4][4];
    AccumulatorToFragments(dscore_fragments, dscores);
    MmaTile(dkey, dscore_fragments, queries);
    __syncthreads();  // every warp is done with this stage before the next prefetch overwrites it
  }

  bf16* dqkv_batch = block.QkvRows(dqkv);
  AccumulateRows(dqkv_batch + num_heads * kHeadSize, block.row_stride, warp_key0, seq_len, dkey, scale);
  AccumulateRows(dqkv_batch + 2 * num_heads * kHeadSize, block.row_stride, warp_key0, seq_len, dvalue, 1.0f);
}

// dQ. Grid (batch * heads, query tiles of 64, last first), 4 warps of 16 queries. Block loops over key/value
// tiles 0..its own: S = Q K^T, P = exp(S - lse), dP = dO V^T, dS = P (dP - D), dQ += dS K.
__global__ void __launch_bounds__(128, 3)
    FlashBackwardQueryBf16Kernel(bf16* dqkv, const bf16* dout, const bf16* qkv, const float* logsumexp,
                                 const float* row_dot, int seq_len, int num_heads, float scale_log2, float scale) {
  constexpr int kThreads = 128;
  constexpr int kTileElements = kBackwardTile * kSmemStride;
  __shared__ __align__(16) bf16 key_tiles[2 * kTileElements];
  __shared__ __align__(16) bf16 value_tiles[2 * kTileElements];

  const HeadTile<bf16> block(qkv, kBackwardTile, /*last_first=*/true, seq_len, num_heads);
  const int query_start = block.start;
  const int warp = threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  const int warp_row0 = query_start + warp * 16;
  const bf16* dout_base = block.OutRows(dout);

  // Queries and dout go through the second stage's buffers into registers first.
  LoadTileAsync<kBackwardTile, kThreads>(key_tiles + kTileElements, block.query, block.row_stride, query_start,
                                         seq_len);
  LoadTileAsync<kBackwardTile, kThreads>(value_tiles + kTileElements, dout_base, block.out_stride, query_start,
                                         seq_len);
  CopyAsyncCommit();
  LoadTileAsync<kBackwardTile, kThreads>(key_tiles, block.key, block.row_stride, 0, seq_len);
  LoadTileAsync<kBackwardTile, kThreads>(value_tiles, block.value, block.row_stride, 0, seq_len);
  CopyAsyncCommit();

  float lse_log2[2];
  float dots[2];
#pragma unroll
  for (int half = 0; half < 2; ++half) {
    const int row = warp_row0 + lane / 4 + half * 8;
    const int64_t at = block.stat_offset + row;
    lse_log2[half] = row < seq_len ? logsumexp[at] * kLog2e : 0.0f;
    dots[half] = row < seq_len ? row_dot[at] : 0.0f;
  }

  uint32_t query_fragments[4][4];
  uint32_t dout_fragments[4][4];
  LoadFirstGroupFragments(query_fragments, key_tiles + kTileElements, dout_fragments, value_tiles + kTileElements,
                          warp);

  float dquery[8][4];
  ZeroAccumulator(dquery);
  const int query_end = min(seq_len, query_start + kBackwardTile);
  const int key_tiles_needed = (query_end + kBackwardTile - 1) / kBackwardTile;
  for (int tile = 0; tile < key_tiles_needed; ++tile) {
    const int stage = tile & 1;
    if (tile + 1 < key_tiles_needed) {
      const int next = (stage ^ 1) * kTileElements;
      LoadTileAsync<kBackwardTile, kThreads>(key_tiles + next, block.key, block.row_stride, (tile + 1) * kBackwardTile,
                                             seq_len);
      LoadTileAsync<kBackwardTile, kThreads>(value_tiles + next, block.value, block.row_stride,
                                             (tile + 1) * kBackwardTile, seq_len);
    }
    CopyAsyncCommit();
    CopyAsyncWait<1>();
    __syncthreads();

    const int key_start = tile * kBackwardTile;
    const bf16* keys = key_tiles + stage * kTileElements;
    const bf16* values = value_tiles + stage * kTileElements;
    float probabilities[8][4];
    ZeroAccumulator(probabilities);
    MmaTransposedTile(probabilities, query_fragments, keys);
    const bool on_diagonal = key_start + kBackwardTile - 1 > warp_row0;
#pragma unroll
    for (int n = 0; n < 8; ++n) {
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int half = e >> 1;
        float p = FastExp2(fmaf(probabilities[n][e], scale_log2, -lse_log2[half]));
        if (on_diagonal && key_start + n * 8 + 2 * (lane % 4) + (e & 1) > warp_row0 + lane / 4 + half * 8) {
          p = 0.0f;
        }
        probabilities[n][e] = p;
      }
    }
    float dscores[8][4];  // dP, then dS
    ZeroAccumulator(dscores);
    MmaTransposedTile(dscores, dout_fragments, values);
#pragma unroll
    for (int n = 0; n < 8; ++n) {
#pragma unroll
      for (int e = 0; e < 4; ++e) dscores[n][e] = probabilities[n][e] * (dscores[n][e] - dots[e >> 1]);
    }
    uint32_t dscore_fragments[4][4];
    AccumulatorToFragments(dscore_fragments, dscores);
    MmaTile(dquery, dscore_fragments, keys);
    __syncthreads();  // every warp is done with this stage before the next prefetch overwrites it
  }

  bf16* dqkv_batch = block.QkvRows(dqkv);
  AccumulateRows(dqkv_batch, block.row_stride, warp_row0, seq_len, dquery, scale);
}

}  // namespace

// Declared in attention_common.cuh.
absl::Status BackwardForType(bf16* dqkv, const bf16* dout, const bf16* qkv, const bf16* out,
                             const float* logsumexp, float* scratch, int64_t batch, int64_t seq_len,
                             int64_t num_heads, int64_t head_size, cudaStream_t stream) {
  constexpr const char* kOp = "AttentionBackward<bf16>";
  KACHI_RETURN_IF_ERROR(CheckShapes(kOp, batch, seq_len, num_heads, head_size));
  for (const auto& [name, pointer] : {std::pair<const char*, const void*>{"dqkv", dqkv},
                                      {"dout", dout},
                                      {"qkv", qkv},
                                      {"out", out}}) {
    KACHI_RETURN_IF_ERROR(CheckAligned(kOp, name, pointer));
  }
  const int64_t rows = batch * num_heads * seq_len;
  const int threads = 256;
  const unsigned row_dot_blocks = static_cast<unsigned>((rows * 8 + threads - 1) / threads);
  RowDotBf16Kernel<<<row_dot_blocks, threads, 0, stream>>>(scratch, dout, out, rows, static_cast<int>(seq_len),
                                                            static_cast<int>(num_heads));
  KACHI_RETURN_IF_ERROR(LastLaunchStatus("RowDotBf16Kernel launch"));

  const float scale = 1.0f / std::sqrt(static_cast<float>(kHeadSize));
  const dim3 grid(static_cast<unsigned>(batch * num_heads), TileCount(seq_len, kBackwardTile));
  FlashBackwardKeyValueBf16Kernel<<<grid, 128, 0, stream>>>(dqkv, dout, qkv, logsumexp, scratch,
                                                            static_cast<int>(seq_len), static_cast<int>(num_heads),
                                                            scale * kLog2e, scale);
  KACHI_RETURN_IF_ERROR(LastLaunchStatus("FlashBackwardKeyValueBf16Kernel launch"));
  FlashBackwardQueryBf16Kernel<<<grid, 128, 0, stream>>>(dqkv, dout, qkv, logsumexp, scratch,
                                                         static_cast<int>(seq_len), static_cast<int>(num_heads),
                                                         scale * kLog2e, scale);
  return LastLaunchStatus("FlashBackwardQueryBf16Kernel launch");
}

}  // namespace attention_internal

using attention_internal::bf16;

template absl::Status AttentionBackward<bf16>(bf16*, const bf16*, const bf16*, const bf16*, const float*, float*,
                                              int64_t, int64_t, int64_t, int64_t, cudaStream_t);

}  // namespace kachi::cuda
