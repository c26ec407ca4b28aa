// fp32 flash attention, forward and backward (see attention_cuda.h), for checks rather than speed: the same
// stages as the bf16 path (online-softmax forward; D = rowsum(dO * O), then dK/dV per key, then dQ per query) with
// one thread per row and plain fp32 FMAs, no tensor cores. Matches the CPU twin to float rounding.
#include <cuda_runtime.h>

#include <cmath>
#include <cstdint>

#include "absl/status/status.h"
#include "kernels/attention_common.cuh"
#include "kernels/attention_cuda.h"
#include "kernels/base/status_macros.h"

namespace kachi::cuda {
namespace attention_internal {
namespace {

constexpr int kSimtRows = 64;  // rows (threads) per block
constexpr int kSimtTile = 32;  // rows staged in shared memory per step

// Copies rows [start, start + kSimtTile) of one head into shared [kSimtTile][64], zeros past seq_len.
__device__ __forceinline__ void StageRowsFloat(float (*tile)[kHeadSize], const float* base, int64_t row_stride,
                                               int start, int seq_len) {
  for (int i = threadIdx.x; i < kSimtTile * kHeadSize; i += blockDim.x) {
    const int row = i / kHeadSize;
    const int column = i % kHeadSize;
    const int position = start + row;
    tile[row][column] = position < seq_len ? base[static_cast<int64_t>(position) * row_stride + column] : 0.0f;
  }
}

// For the query `row` of a query tile (`valid` when row < seq_len): stages the keys and values [0, tile end) of
// block's head kSimtTile rows at a time into `keys` / `values` (every thread of the block takes part) and calls
// visit(j) for each staged key j at or before `row`, in order.
template <typename Visit>
__device__ __forceinline__ void ForEachVisibleKey(float (*keys)[kHeadSize], float (*values)[kHeadSize],
                                                  const HeadTile<float>& block, int row, bool valid, int seq_len,
                                                  Visit&& visit) {
  const int key_end = min(seq_len, block.start + kSimtRows);
  for (int start = 0; start < key_end; start += kSimtTile) {
    __syncthreads();
    StageRowsFloat(keys, block.key, block.row_stride, start, seq_len);
    StageRowsFloat(values, block.value, block.row_stride, start, seq_len);
    __syncthreads();
    for (int j = 0; j < kSimtTile; ++j) {
      if (!valid || start + j > row) break;
      visit(j);
    }
  }
}

// Grid (batch * heads, query tiles of kSimtRows, last first): online softmax one key at a time.
__global__ void __launch_bounds__(kSimtRows)
    AttentionForwardFloatKernel(float* out, float* logsumexp, const float* qkv, int seq_len, int num_heads,
                                float scale) {
  __shared__ float keys[kSimtTile][kHeadSize];
  __shared__ float values[kSimtTile][kHeadSize];
  const HeadTile<float> block(qkv, kSimtRows, /*last_first=*/true, seq_len, num_heads);
  const int row = block.start + threadIdx.x;
  const bool valid = row < seq_len;

  float query[kHeadSize];
  float acc[kHeadSize];
#pragma unroll
  for (int d = 0; d < kHeadSize; ++d) {
    query[d] = valid ? block.query[static_cast<int64_t>(row) * block.row_stride + d] : 0.0f;
    acc[d] = 0.0f;
  }
  float running_max = -INFINITY;
  float running_sum = 0.0f;
  ForEachVisibleKey(keys, values, block, row, valid, seq_len, [&](int j) {
    float score = 0.0f;
#pragma unroll
    for (int d = 0; d < kHeadSize; ++d) score = fmaf(query[d], keys[j][d], score);
    score *= scale;
    const float new_max = fmaxf(running_max, score);
    const float rescale = expf(running_max - new_max);
    const float p = expf(score - new_max);
    running_sum = running_sum * rescale + p;
#pragma unroll
    for (int d = 0; d < kHeadSize; ++d) acc[d] = fmaf(p, values[j][d], acc[d] * rescale);
    running_max = new_max;
  });
  if (!valid) return;
  float* destination = block.OutRows(out) + static_cast<int64_t>(row) * block.out_stride;
  const float inverse = 1.0f / running_sum;
#pragma unroll
  for (int d = 0; d < kHeadSize; ++d) destination[d] = acc[d] * inverse;
  block.StatRows(logsumexp)[row] = running_max + logf(running_sum);
}

// D[b, h, t] = sum_d dout * out in fp32, one thread per row.
__global__ void RowDotFloatKernel(float* row_dot, const float* dout, const float* out, int64_t rows, int seq_len,
                                  int num_heads) {
  const int64_t row = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (row >= rows) return;
  const int64_t batch_head = row / seq_len;
  const int position = static_cast<int>(row % seq_len);
  const int64_t offset =
      ((batch_head / num_heads * seq_len + position) * num_heads + batch_head % num_heads) * kHeadSize;
  float sum = 0.0f;
  for (int d = 0; d < kHeadSize; ++d) sum = fmaf(dout[offset + d], out[offset + d], sum);
  row_dot[row] = sum;
}

// dK, dV in fp32: grid (batch * heads, key tiles of kSimtRows); each thread owns one key and loops over the queries
// at or after it.
__global__ void __launch_bounds__(kSimtRows)
    AttentionBackwardKeyValueFloatKernel(float* dqkv, const float* dout, const float* qkv, const float* logsumexp,
                                         const float* row_dot, int seq_len, int num_heads, float scale) {
  __shared__ float queries[kSimtTile][kHeadSize];
  __shared__ float douts[kSimtTile][kHeadSize];
  __shared__ float lse[kSimtTile];
  __shared__ float dots[kSimtTile];
  const HeadTile<float> block(qkv, kSimtRows, /*last_first=*/false, seq_len, num_heads);
  const int key_row = block.start + threadIdx.x;
  const bool valid = key_row < seq_len;
  const float* dout_base = block.OutRows(dout);

  float key[kHeadSize], value[kHeadSize], dkey[kHeadSize], dvalue[kHeadSize];
#pragma unroll
  for (int d = 0; d < kHeadSize; ++d) {
    key[d] = valid ? block.key[static_cast<int64_t>(key_row) * block.row_stride + d] : 0.0f;
    value[d] = valid ? block.value[static_cast<int64_t>(key_row) * block.row_stride + d] : 0.0f;
    dkey[d] = 0.0f;
    dvalue[d] = 0.0f;
  }
  for (int start = block.start; start < seq_len; start += kSimtTile) {
    __syncthreads();
    StageRowsFloat(queries, block.query, block.row_stride, start, seq_len);
    StageRowsFloat(douts, dout_base, block.out_stride, start, seq_len);
    if (threadIdx.x < kSimtTile) {
      const int position = start + threadIdx.x;
      const int64_t at = block.stat_offset + position;
      lse[threadIdx.x] = position < seq_len ? logsumexp[at] : 0.0f;
      dots[threadIdx.x] = position < seq_len ? row_dot[at] : 0.0f;
    }
    __syncthreads();
    if (!valid) continue;
    for (int i = 0; i < kSimtTile; ++i) {
      const int query_row = start + i;
      if (query_row < key_row || query_row >= seq_len) continue;
      float score = 0.0f;
      float dprob = 0.0f;
#pragma unroll
      for (int d = 0; d < kHeadSize; ++d) {
        score = fmaf(queries[i][d], key[d], score);
        dprob = fmaf(douts[i][d], value[d], dprob);
      }
      const float p = expf(score * scale - lse[i]);
      const float dscore = p * (dprob - dots[i]) * scale;
#pragma unroll
      for (int d = 0; d < kHeadSize; ++d) {
        dvalue[d] = fmaf(p, douts[i][d], dvalue[d]);
        dkey[d] = fmaf(dscore, queries[i][d], dkey[d]);
      }
    }
  }
  if (!valid) return;
  float* dkey_out = block.QkvRows(dqkv) + static_cast<int64_t>(key_row) * block.row_stride + num_heads * kHeadSize;
  float* dvalue_out = dkey_out + num_heads * kHeadSize;
#pragma unroll
  for (int d = 0; d < kHeadSize; ++d) {
    dkey_out[d] += dkey[d];
    dvalue_out[d] += dvalue[d];
  }
}

// dQ in fp32: grid (batch * heads, query tiles of kSimtRows, last first); each thread owns one query and loops over
// the keys at or before it.
__global__ void __launch_bounds__(kSimtRows)
    AttentionBackwardQueryFloatKernel(float* dqkv, const float* dout, const float* qkv, const float* logsumexp,
                                      const float* row_dot, int seq_len, int num_heads, float scale) {
  __shared__ float keys[kSimtTile][kHeadSize];
  __shared__ float values[kSimtTile][kHeadSize];
  const HeadTile<float> block(qkv, kSimtRows, /*last_first=*/true, seq_len, num_heads);
  const int row = block.start + threadIdx.x;
  const bool valid = row < seq_len;
  const float* dout_base = block.OutRows(dout);

  float query[kHeadSize], dout_row[kHeadSize], dquery[kHeadSize];
#pragma unroll
  for (int d = 0; d < kHeadSize; ++d) {
    query[d] = valid ? block.query[static_cast<int64_t>(row) * block.row_stride + d] : 0.0f;
    dout_row[d] = valid ? dout_base[static_cast<int64_t>(row) * block.out_stride + d] : 0.0f;
    dquery[d] = 0.0f;
  }
  const int64_t stat_at = block.stat_offset + row;
  const float lse = valid ? logsumexp[stat_at] : 0.0f;
  const float dot = valid ? row_dot[stat_at] : 0.0f;
  ForEachVisibleKey(keys, values, block, row, valid, seq_len, [&](int j) {
    float score = 0.0f;
    float dprob = 0.0f;
#pragma unroll
    for (int d = 0; d < kHeadSize; ++d) {
      score = fmaf(query[d], keys[j][d], score);
      dprob = fmaf(dout_row[d], values[j][d], dprob);
    }
    const float p = expf(score * scale - lse);
    const float dscore = p * (dprob - dot) * scale;
#pragma unroll
    for (int d = 0; d < kHeadSize; ++d) dquery[d] = fmaf(dscore, keys[j][d], dquery[d]);
  });
  if (!valid) return;
  float* destination = block.QkvRows(dqkv) + static_cast<int64_t>(row) * block.row_stride;
#pragma unroll
  for (int d = 0; d < kHeadSize; ++d) destination[d] += dquery[d];
}

}  // namespace

// Declared in attention_common.cuh.
absl::Status ForwardForType(float* out, float* logsumexp, const float* qkv, int64_t batch, int64_t seq_len,
                            int64_t num_heads, int64_t head_size, cudaStream_t stream) {
  constexpr const char* kOp = "AttentionForward<float>";
  KACHI_RETURN_IF_ERROR(CheckShapes(kOp, batch, seq_len, num_heads, head_size));
  const dim3 grid(static_cast<unsigned>(batch * num_heads), TileCount(seq_len, kSimtRows));
  AttentionForwardFloatKernel<<<grid, kSimtRows, 0, stream>>>(out, logsumexp, qkv, static_cast<int>(seq_len),
                                                                static_cast<int>(num_heads),
                                                                1.0f / std::sqrt(static_cast<float>(kHeadSize)));
  return LastLaunchStatus("AttentionForwardFloatKernel launch");
}

// Declared in attention_common.cuh.
absl::Status BackwardForType(float* dqkv, const float* dout, const float* qkv, const float* out,
                             const float* logsumexp, float* scratch, int64_t batch, int64_t seq_len,
                             int64_t num_heads, int64_t head_size, cudaStream_t stream) {
  constexpr const char* kOp = "AttentionBackward<float>";
  KACHI_RETURN_IF_ERROR(CheckShapes(kOp, batch, seq_len, num_heads, head_size));
  const int64_t rows = batch * num_heads * seq_len;
  const int threads = 256;
  RowDotFloatKernel<<<static_cast<unsigned>((rows + threads - 1) / threads), threads, 0, stream>>>(
      scratch, dout, out, rows, static_cast<int>(seq_len), static_cast<int>(num_heads));
  KACHI_RETURN_IF_ERROR(LastLaunchStatus("RowDotFloatKernel launch"));

  const float scale = 1.0f / std::sqrt(static_cast<float>(kHeadSize));
  const dim3 grid(static_cast<unsigned>(batch * num_heads), TileCount(seq_len, kSimtRows));
  AttentionBackwardKeyValueFloatKernel<<<grid, kSimtRows, 0, stream>>>(
      dqkv, dout, qkv, logsumexp, scratch, static_cast<int>(seq_len), static_cast<int>(num_heads), scale);
  if (absl::Status status = LastLaunchStatus("AttentionBackwardKeyValueFloatKernel launch"); !status.ok()) {
    return status;
  }
  AttentionBackwardQueryFloatKernel<<<grid, kSimtRows, 0, stream>>>(
      dqkv, dout, qkv, logsumexp, scratch, static_cast<int>(seq_len), static_cast<int>(num_heads), scale);
  return LastLaunchStatus("AttentionBackwardQueryFloatKernel launch");
}

}  // namespace attention_internal

template absl::Status AttentionForward<float>(float*, float*, const float*, int64_t, int64_t, int64_t, int64_t,
                                              cudaStream_t);
template absl::Status AttentionBackward<float>(float*, const float*, const float*, const float*, const float*, float*,
                                               int64_t, int64_t, int64_t, int64_t, cudaStream_t);

}  // namespace kachi::cuda
