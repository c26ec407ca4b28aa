// CUDA twin of kernels/attention.cc (see attention_cuda.h): causal flash attention.
//
// bf16 path (tensor cores, FlashAttention-2 scheme, head size 64):
//   forward   one block per (batch*head, query tile of 16 rows per warp); K/V tiles of 64 keys stream through
//             shared memory (cp.async, two stages); S = Q K^T and O += P V with mma.sync m16n8k16; online softmax
//             in fp32 registers; writes out and the row logsumexp.
//   backward  (1) D = rowsum(dO * O); (2) one block per key/value tile of 64 keys loops over the query tiles at or
//             after it and accumulates dK, dV in registers; (3) one block per query tile of 64 rows loops over the
//             key/value tiles at or before it and accumulates dQ. Each output element has one owner: deterministic.
// fp32 path: the same three stages with one thread per row and plain fp32 FMAs, for checks.
#include "kernels/attention_cuda.h"

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cmath>
#include <cstdint>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace kachi::cuda {
namespace {

constexpr int kHeadSize = 64;                    // the only head size supported
constexpr int kKeyTile = 64;                     // keys per shared-memory tile (Bc)
constexpr int kBackwardTile = 64;                // rows per block and per streamed tile in the backward
constexpr int kSmemStride = kHeadSize + 8;       // padded shared row (bf16): 144 bytes, ldmatrix conflict-free
constexpr int kChunksPerRow = kHeadSize / 8;     // 16-byte chunks per head row
constexpr float kLog2e = 1.4426950408889634f;
constexpr float kLn2 = 0.6931471805599453f;

using bf16 = __nv_bfloat16;

// ---- status helpers ------------------------------------------------------------------------------------------

// OK, or an Internal error naming `what` and the CUDA error left by the last launch.
absl::Status LastLaunchStatus(const char* what) {
  const cudaError_t error = cudaGetLastError();
  if (error == cudaSuccess) return absl::OkStatus();
  return absl::InternalError(absl::StrCat(what, " failed: ", cudaGetErrorName(error), " (",
                                          cudaGetErrorString(error), ")"));
}

// OK, or an Internal error naming `what` and `error`.
absl::Status CudaStatus(cudaError_t error, const char* what) {
  if (error == cudaSuccess) return absl::OkStatus();
  return absl::InternalError(absl::StrCat(what, " failed: ", cudaGetErrorName(error), " (",
                                          cudaGetErrorString(error), ")"));
}

// Checks sizes and alignment shared by every entry point.
absl::Status CheckShapes(const char* op, int64_t batch, int64_t seq_len, int64_t num_heads, int64_t head_size) {
  if (head_size != kHeadSize) {
    return absl::InvalidArgumentError(
        absl::StrCat(op, ": head_size must be 64 (the only size these kernels support), got ", head_size));
  }
  if (batch <= 0 || seq_len <= 0 || num_heads <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(op, ": batch, seq_len and num_heads must be positive, got ", batch,
                                                   ", ", seq_len, ", ", num_heads));
  }
  if (seq_len > (int64_t{1} << 24) || batch * num_heads > (int64_t{1} << 30)) {
    return absl::InvalidArgumentError(absl::StrCat(op, ": seq_len ", seq_len, " or batch*num_heads ",
                                                   batch * num_heads, " exceeds the grid limits (2^24, 2^30)"));
  }
  return absl::OkStatus();
}

// Error unless `pointer` is 16-byte aligned (the kernels copy 16-byte chunks).
absl::Status CheckAligned(const char* op, const char* name, const void* pointer) {
  if (reinterpret_cast<uintptr_t>(pointer) % 16 != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(op, ": ", name, " must be 16-byte aligned, got address ", reinterpret_cast<uintptr_t>(pointer)));
  }
  return absl::OkStatus();
}

// ---- PTX wrappers --------------------------------------------------------------------------------------------

__device__ __forceinline__ uint32_t SharedAddress(const void* pointer) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(pointer));
}

// 16-byte global->shared copy; zero-fills the destination when `valid` is false (nothing is read then).
__device__ __forceinline__ void CopyAsync16(void* shared, const void* global, bool valid) {
  const int source_bytes = valid ? 16 : 0;
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(SharedAddress(shared)), "l"(global),
               "r"(source_bytes));
}

// 4-byte global->shared copy; zero-fills when `valid` is false.
__device__ __forceinline__ void CopyAsync4(void* shared, const void* global, bool valid) {
  const int source_bytes = valid ? 4 : 0;
  asm volatile("cp.async.ca.shared.global [%0], [%1], 4, %2;\n" ::"r"(SharedAddress(shared)), "l"(global),
               "r"(source_bytes));
}

__device__ __forceinline__ void CopyAsyncCommit() { asm volatile("cp.async.commit_group;\n" ::); }

// Waits until at most `kPending` committed copy groups are still in flight.
template <int kPending>
__device__ __forceinline__ void CopyAsyncWait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(kPending));
}

// Four 8x8 bf16 matrices from shared memory; lane i supplies the address of row i%8 of matrix i/8.
__device__ __forceinline__ void LoadMatrixX4(uint32_t (&r)[4], const bf16* shared) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(SharedAddress(shared)));
}

// As LoadMatrixX4, each 8x8 matrix transposed.
__device__ __forceinline__ void LoadMatrixX4Transposed(uint32_t (&r)[4], const bf16* shared) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(SharedAddress(shared)));
}

// c += a (16x16, row) * b (16x8, col), bf16 operands, fp32 accumulators.
__device__ __forceinline__ void MmaBf16(float (&c)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
      "{%0, %1, %2, %3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

// 2^x (approximate, flushes denormals; 2^-inf = 0).
__device__ __forceinline__ float FastExp2(float x) {
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;\n" : "=f"(y) : "f"(x));
  return y;
}

// Two floats rounded to one bf16x2 register, `low` in the low half (the lower column of an mma fragment).
__device__ __forceinline__ uint32_t PackBf16(float low, float high) {
  const __nv_bfloat162 packed = __floats2bfloat162_rn(low, high);
  return *reinterpret_cast<const uint32_t*>(&packed);
}

// ---- tile movement and fragments -------------------------------------------------------------------------------

// Starts copying rows [row_start, row_start + kRows) of one head (row r at base + r * row_stride) into a padded
// shared tile; rows at or past seq_len are zero-filled.
template <int kRows, int kThreads>
__device__ __forceinline__ void LoadTileAsync(bf16* tile, const bf16* base, int64_t row_stride, int row_start,
                                              int seq_len) {
#pragma unroll
  for (int chunk = threadIdx.x; chunk < kRows * kChunksPerRow; chunk += kThreads) {
    const int row = chunk / kChunksPerRow;
    const int column = (chunk % kChunksPerRow) * 8;
    const int position = row_start + row;
    const bool valid = position < seq_len;
    const bf16* source = base + (valid ? static_cast<int64_t>(position) * row_stride : 0) + column;
    CopyAsync16(tile + row * kSmemStride + column, source, valid);
  }
}

// Loads a warp's 16 x 64 A operand (rows row0..row0+15 of a padded tile) as 4 k-steps of mma A fragments.
__device__ __forceinline__ void LoadRowFragments(uint32_t (&fragments)[4][4], const bf16* tile, int row0) {
  const int lane = threadIdx.x % 32;
  const int row = row0 + (lane & 7) + ((lane >> 3) & 1) * 8;
#pragma unroll
  for (int k_step = 0; k_step < 4; ++k_step) {
    LoadMatrixX4(fragments[k_step], tile + row * kSmemStride + k_step * 16 + (lane >> 4) * 8);
  }
}

// acc[n] (16 x 8 each, 8 of them: 16 x 64) += A (16 x 64, fragments) * tile^T, where `tile` holds 64 rows of
// 64 columns and row n of the tile is column n of the product (S = Q K^T style).
__device__ __forceinline__ void MmaTransposedTile(float (&acc)[8][4], const uint32_t (&a)[4][4], const bf16* tile) {
  const int lane = threadIdx.x % 32;
  const int row_in_pair = (lane & 7) + (lane >> 4) * 8;
  const int column_offset = ((lane >> 3) & 1) * 8;
#pragma unroll
  for (int k_step = 0; k_step < 4; ++k_step) {
#pragma unroll
    for (int pair = 0; pair < 4; ++pair) {
      uint32_t b[4];
      LoadMatrixX4(b, tile + (pair * 16 + row_in_pair) * kSmemStride + k_step * 16 + column_offset);
      MmaBf16(acc[2 * pair], a[k_step], b[0], b[1]);
      MmaBf16(acc[2 * pair + 1], a[k_step], b[2], b[3]);
    }
  }
}

// acc[n] (16 x 64) += P (16 x 64, bf16 A fragments over the tile's rows) * tile, where `tile` holds 64 rows
// (the contraction index) of 64 columns (O += P V style).
__device__ __forceinline__ void MmaTile(float (&acc)[8][4], const uint32_t (&p)[4][4], const bf16* tile) {
  const int lane = threadIdx.x % 32;
  const int row_offset = (lane & 7) + ((lane >> 3) & 1) * 8;
  const int column_in_pair = (lane >> 4) * 8;
#pragma unroll
  for (int k_step = 0; k_step < 4; ++k_step) {
#pragma unroll
    for (int pair = 0; pair < 4; ++pair) {
      uint32_t b[4];
      LoadMatrixX4Transposed(b, tile + (k_step * 16 + row_offset) * kSmemStride + pair * 16 + column_in_pair);
      MmaBf16(acc[2 * pair], p[k_step], b[0], b[1]);
      MmaBf16(acc[2 * pair + 1], p[k_step], b[2], b[3]);
    }
  }
}

// Rounds a 16 x 64 fp32 accumulator (C layout) to bf16 A fragments over its 64 columns (the FA-2 register reuse:
// C tiles n = 2k, 2k+1 form A k-step k).
__device__ __forceinline__ void AccumulatorToFragments(uint32_t (&a)[4][4], const float (&acc)[8][4]) {
#pragma unroll
  for (int k_step = 0; k_step < 4; ++k_step) {
    a[k_step][0] = PackBf16(acc[2 * k_step][0], acc[2 * k_step][1]);
    a[k_step][1] = PackBf16(acc[2 * k_step][2], acc[2 * k_step][3]);
    a[k_step][2] = PackBf16(acc[2 * k_step + 1][0], acc[2 * k_step + 1][1]);
    a[k_step][3] = PackBf16(acc[2 * k_step + 1][2], acc[2 * k_step + 1][3]);
  }
}

__device__ __forceinline__ void ZeroAccumulator(float (&acc)[8][4]) {
#pragma unroll
  for (int n = 0; n < 8; ++n) {
#pragma unroll
    for (int e = 0; e < 4; ++e) acc[n][e] = 0.0f;
  }
}

// dst[row, 0..63] += scale * acc row (rows row0 + lane/4 and row0 + lane/4 + 8 of a warp's 16 x 64 accumulator),
// for rows below seq_len; dst row r starts at base + r * row_stride. Read-add-write by the row's owner only.
__device__ __forceinline__ void AccumulateRows(bf16* base, int64_t row_stride, int row0, int seq_len,
                                               const float (&acc)[8][4], float scale) {
  const int lane = threadIdx.x % 32;
#pragma unroll
  for (int half = 0; half < 2; ++half) {
    const int row = row0 + lane / 4 + half * 8;
    if (row >= seq_len) continue;
    bf16* destination = base + static_cast<int64_t>(row) * row_stride + 2 * (lane % 4);
#pragma unroll
    for (int n = 0; n < 8; ++n) {
      __nv_bfloat162* pair = reinterpret_cast<__nv_bfloat162*>(destination + n * 8);
      const float2 old = __bfloat1622float2(*pair);
      *pair = __floats2bfloat162_rn(old.x + scale * acc[n][2 * half], old.y + scale * acc[n][2 * half + 1]);
    }
  }
}

// ---- bf16 forward ----------------------------------------------------------------------------------------------

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

  const int batch_head = blockIdx.x;
  const int batch = batch_head / num_heads;
  const int head = batch_head % num_heads;
  const int query_start = (gridDim.y - 1 - blockIdx.y) * kQueryRows;
  const int warp = threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  const int warp_row0 = query_start + warp * 16;

  const int64_t row_stride = 3LL * num_heads * kHeadSize;
  const bf16* query_base = qkv + static_cast<int64_t>(batch) * seq_len * row_stride + head * kHeadSize;
  const bf16* key_base = query_base + num_heads * kHeadSize;
  const bf16* value_base = key_base + num_heads * kHeadSize;

  const int query_end = min(seq_len, query_start + kQueryRows);
  const int key_tiles_needed = (query_end + kKeyTile - 1) / kKeyTile;

  LoadTileAsync<kQueryRows, kThreads>(query_tile, query_base, row_stride, query_start, seq_len);
  LoadTileAsync<kKeyTile, kThreads>(key_tiles, key_base, row_stride, 0, seq_len);
  LoadTileAsync<kKeyTile, kThreads>(value_tiles, value_base, row_stride, 0, seq_len);
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
      LoadTileAsync<kKeyTile, kThreads>(key_tiles + next, key_base, row_stride, (tile + 1) * kKeyTile, seq_len);
      LoadTileAsync<kKeyTile, kThreads>(value_tiles + next, value_base, row_stride, (tile + 1) * kKeyTile, seq_len);
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

  const int64_t out_stride = static_cast<int64_t>(num_heads) * kHeadSize;
  bf16* out_base = out + static_cast<int64_t>(batch) * seq_len * out_stride + head * kHeadSize;
#pragma unroll
  for (int half = 0; half < 2; ++half) {
    float total = row_sum[half];
    total += __shfl_xor_sync(0xffffffffu, total, 1);
    total += __shfl_xor_sync(0xffffffffu, total, 2);
    const float inverse = 1.0f / total;
    const int row = warp_row0 + lane / 4 + half * 8;
    if (row >= seq_len) continue;
    bf16* destination = out_base + static_cast<int64_t>(row) * out_stride + 2 * (lane % 4);
#pragma unroll
    for (int n = 0; n < 8; ++n) {
      *reinterpret_cast<__nv_bfloat162*>(destination + n * 8) =
          __floats2bfloat162_rn(out_acc[n][2 * half] * inverse, out_acc[n][2 * half + 1] * inverse);
    }
    if (lane % 4 == 0) {
      logsumexp[static_cast<int64_t>(batch_head) * seq_len + row] = (row_max[half] + log2f(total)) * kLn2;
    }
  }
}

// ---- bf16 backward ---------------------------------------------------------------------------------------------

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

  const int batch_head = blockIdx.x;
  const int batch = batch_head / num_heads;
  const int head = batch_head % num_heads;
  const int key_start = blockIdx.y * kBackwardTile;  // tile 0 has the most query tiles: it starts first
  const int warp = threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  const int warp_key0 = key_start + warp * 16;

  const int64_t row_stride = 3LL * num_heads * kHeadSize;
  const int64_t out_stride = static_cast<int64_t>(num_heads) * kHeadSize;
  const int64_t batch_offset = static_cast<int64_t>(batch) * seq_len;
  const bf16* query_base = qkv + batch_offset * row_stride + head * kHeadSize;
  const bf16* key_base = query_base + num_heads * kHeadSize;
  const bf16* value_base = key_base + num_heads * kHeadSize;
  const bf16* dout_base = dout + batch_offset * out_stride + head * kHeadSize;
  const float* lse_base = logsumexp + static_cast<int64_t>(batch_head) * seq_len;
  const float* row_dot_base = row_dot + static_cast<int64_t>(batch_head) * seq_len;

  // Keys and values go through the second stage's buffers into registers first.
  LoadTileAsync<kBackwardTile, kThreads>(query_tiles + kTileElements, key_base, row_stride, key_start, seq_len);
  LoadTileAsync<kBackwardTile, kThreads>(dout_tiles + kTileElements, value_base, row_stride, key_start, seq_len);
  CopyAsyncCommit();
  LoadTileAsync<kBackwardTile, kThreads>(query_tiles, query_base, row_stride, key_start, seq_len);
  LoadTileAsync<kBackwardTile, kThreads>(dout_tiles, dout_base, out_stride, key_start, seq_len);
  LoadRowStatAsync(lse_tiles[0], lse_base, key_start, seq_len, 0, kBackwardTile);
  LoadRowStatAsync(row_dot_tiles[0], row_dot_base, key_start, seq_len, kBackwardTile, kBackwardTile);
  CopyAsyncCommit();
  CopyAsyncWait<1>();
  __syncthreads();
  uint32_t key_fragments[4][4];
  uint32_t value_fragments[4][4];
  LoadRowFragments(key_fragments, query_tiles + kTileElements, warp * 16);
  LoadRowFragments(value_fragments, dout_tiles + kTileElements, warp * 16);
  __syncthreads();  // the second stage is free again

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
      LoadTileAsync<kBackwardTile, kThreads>(query_tiles + next_stage * kTileElements, query_base, row_stride,
                                              next_start, seq_len);
      LoadTileAsync<kBackwardTile, kThreads>(dout_tiles + next_stage * kTileElements, dout_base, out_stride,
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

  bf16* dqkv_batch = dqkv + batch_offset * row_stride + head * kHeadSize;
  AccumulateRows(dqkv_batch + num_heads * kHeadSize, row_stride, warp_key0, seq_len, dkey, scale);
  AccumulateRows(dqkv_batch + 2 * num_heads * kHeadSize, row_stride, warp_key0, seq_len, dvalue, 1.0f);
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

  const int batch_head = blockIdx.x;
  const int batch = batch_head / num_heads;
  const int head = batch_head % num_heads;
  const int query_tile = gridDim.y - 1 - blockIdx.y;
  const int query_start = query_tile * kBackwardTile;
  const int warp = threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  const int warp_row0 = query_start + warp * 16;

  const int64_t row_stride = 3LL * num_heads * kHeadSize;
  const int64_t out_stride = static_cast<int64_t>(num_heads) * kHeadSize;
  const int64_t batch_offset = static_cast<int64_t>(batch) * seq_len;
  const bf16* query_base = qkv + batch_offset * row_stride + head * kHeadSize;
  const bf16* key_base = query_base + num_heads * kHeadSize;
  const bf16* value_base = key_base + num_heads * kHeadSize;
  const bf16* dout_base = dout + batch_offset * out_stride + head * kHeadSize;

  // Queries and dout go through the second stage's buffers into registers first.
  LoadTileAsync<kBackwardTile, kThreads>(key_tiles + kTileElements, query_base, row_stride, query_start, seq_len);
  LoadTileAsync<kBackwardTile, kThreads>(value_tiles + kTileElements, dout_base, out_stride, query_start, seq_len);
  CopyAsyncCommit();
  LoadTileAsync<kBackwardTile, kThreads>(key_tiles, key_base, row_stride, 0, seq_len);
  LoadTileAsync<kBackwardTile, kThreads>(value_tiles, value_base, row_stride, 0, seq_len);
  CopyAsyncCommit();

  float lse_log2[2];
  float dots[2];
#pragma unroll
  for (int half = 0; half < 2; ++half) {
    const int row = warp_row0 + lane / 4 + half * 8;
    const int64_t at = static_cast<int64_t>(batch_head) * seq_len + row;
    lse_log2[half] = row < seq_len ? logsumexp[at] * kLog2e : 0.0f;
    dots[half] = row < seq_len ? row_dot[at] : 0.0f;
  }

  CopyAsyncWait<1>();
  __syncthreads();
  uint32_t query_fragments[4][4];
  uint32_t dout_fragments[4][4];
  LoadRowFragments(query_fragments, key_tiles + kTileElements, warp * 16);
  LoadRowFragments(dout_fragments, value_tiles + kTileElements, warp * 16);
  __syncthreads();  // the second stage is free again

  float dquery[8][4];
  ZeroAccumulator(dquery);
  const int query_end = min(seq_len, query_start + kBackwardTile);
  const int key_tiles_needed = (query_end + kBackwardTile - 1) / kBackwardTile;
  for (int tile = 0; tile < key_tiles_needed; ++tile) {
    const int stage = tile & 1;
    if (tile + 1 < key_tiles_needed) {
      const int next = (stage ^ 1) * kTileElements;
      LoadTileAsync<kBackwardTile, kThreads>(key_tiles + next, key_base, row_stride, (tile + 1) * kBackwardTile,
                                              seq_len);
      LoadTileAsync<kBackwardTile, kThreads>(value_tiles + next, value_base, row_stride, (tile + 1) * kBackwardTile,
                                              seq_len);
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

  bf16* dqkv_batch = dqkv + batch_offset * row_stride + head * kHeadSize;
  AccumulateRows(dqkv_batch, row_stride, warp_row0, seq_len, dquery, scale);
}

// ---- fp32 path (one thread per row, plain FMAs) ----------------------------------------------------------------

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

// Grid (batch * heads, query tiles of kSimtRows, last first): online softmax one key at a time.
__global__ void __launch_bounds__(kSimtRows)
    AttentionForwardFloatKernel(float* out, float* logsumexp, const float* qkv, int seq_len, int num_heads,
                                float scale) {
  __shared__ float keys[kSimtTile][kHeadSize];
  __shared__ float values[kSimtTile][kHeadSize];
  const int batch_head = blockIdx.x;
  const int batch = batch_head / num_heads;
  const int head = batch_head % num_heads;
  const int query_start = (gridDim.y - 1 - blockIdx.y) * kSimtRows;
  const int row = query_start + threadIdx.x;
  const bool valid = row < seq_len;
  const int64_t row_stride = 3LL * num_heads * kHeadSize;
  const float* query_base = qkv + static_cast<int64_t>(batch) * seq_len * row_stride + head * kHeadSize;
  const float* key_base = query_base + num_heads * kHeadSize;
  const float* value_base = key_base + num_heads * kHeadSize;

  float query[kHeadSize];
  float acc[kHeadSize];
#pragma unroll
  for (int d = 0; d < kHeadSize; ++d) {
    query[d] = valid ? query_base[static_cast<int64_t>(row) * row_stride + d] : 0.0f;
    acc[d] = 0.0f;
  }
  float running_max = -INFINITY;
  float running_sum = 0.0f;
  const int key_end = min(seq_len, query_start + kSimtRows);
  for (int start = 0; start < key_end; start += kSimtTile) {
    __syncthreads();
    StageRowsFloat(keys, key_base, row_stride, start, seq_len);
    StageRowsFloat(values, value_base, row_stride, start, seq_len);
    __syncthreads();
    for (int j = 0; j < kSimtTile; ++j) {
      if (!valid || start + j > row) break;
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
    }
  }
  if (!valid) return;
  const int64_t out_stride = static_cast<int64_t>(num_heads) * kHeadSize;
  float* destination = out + (static_cast<int64_t>(batch) * seq_len + row) * out_stride + head * kHeadSize;
  const float inverse = 1.0f / running_sum;
#pragma unroll
  for (int d = 0; d < kHeadSize; ++d) destination[d] = acc[d] * inverse;
  logsumexp[static_cast<int64_t>(batch_head) * seq_len + row] = running_max + logf(running_sum);
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
  const int batch_head = blockIdx.x;
  const int batch = batch_head / num_heads;
  const int head = batch_head % num_heads;
  const int key_start = blockIdx.y * kSimtRows;
  const int key_row = key_start + threadIdx.x;
  const bool valid = key_row < seq_len;
  const int64_t row_stride = 3LL * num_heads * kHeadSize;
  const int64_t out_stride = static_cast<int64_t>(num_heads) * kHeadSize;
  const int64_t batch_offset = static_cast<int64_t>(batch) * seq_len;
  const float* query_base = qkv + batch_offset * row_stride + head * kHeadSize;
  const float* key_base = query_base + num_heads * kHeadSize;
  const float* value_base = key_base + num_heads * kHeadSize;
  const float* dout_base = dout + batch_offset * out_stride + head * kHeadSize;

  float key[kHeadSize], value[kHeadSize], dkey[kHeadSize], dvalue[kHeadSize];
#pragma unroll
  for (int d = 0; d < kHeadSize; ++d) {
    key[d] = valid ? key_base[static_cast<int64_t>(key_row) * row_stride + d] : 0.0f;
    value[d] = valid ? value_base[static_cast<int64_t>(key_row) * row_stride + d] : 0.0f;
    dkey[d] = 0.0f;
    dvalue[d] = 0.0f;
  }
  for (int start = key_start; start < seq_len; start += kSimtTile) {
    __syncthreads();
    StageRowsFloat(queries, query_base, row_stride, start, seq_len);
    StageRowsFloat(douts, dout_base, out_stride, start, seq_len);
    if (threadIdx.x < kSimtTile) {
      const int position = start + threadIdx.x;
      const int64_t at = static_cast<int64_t>(batch_head) * seq_len + position;
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
  float* dkey_out = dqkv + (batch_offset + key_row) * row_stride + num_heads * kHeadSize + head * kHeadSize;
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
  const int batch_head = blockIdx.x;
  const int batch = batch_head / num_heads;
  const int head = batch_head % num_heads;
  const int query_start = (gridDim.y - 1 - blockIdx.y) * kSimtRows;
  const int row = query_start + threadIdx.x;
  const bool valid = row < seq_len;
  const int64_t row_stride = 3LL * num_heads * kHeadSize;
  const int64_t out_stride = static_cast<int64_t>(num_heads) * kHeadSize;
  const int64_t batch_offset = static_cast<int64_t>(batch) * seq_len;
  const float* query_base = qkv + batch_offset * row_stride + head * kHeadSize;
  const float* key_base = query_base + num_heads * kHeadSize;
  const float* value_base = key_base + num_heads * kHeadSize;
  const float* dout_base = dout + batch_offset * out_stride + head * kHeadSize;

  float query[kHeadSize], dout_row[kHeadSize], dquery[kHeadSize];
#pragma unroll
  for (int d = 0; d < kHeadSize; ++d) {
    query[d] = valid ? query_base[static_cast<int64_t>(row) * row_stride + d] : 0.0f;
    dout_row[d] = valid ? dout_base[static_cast<int64_t>(row) * out_stride + d] : 0.0f;
    dquery[d] = 0.0f;
  }
  const int64_t stat_at = static_cast<int64_t>(batch_head) * seq_len + row;
  const float lse = valid ? logsumexp[stat_at] : 0.0f;
  const float dot = valid ? row_dot[stat_at] : 0.0f;
  const int key_end = min(seq_len, query_start + kSimtRows);
  for (int start = 0; start < key_end; start += kSimtTile) {
    __syncthreads();
    StageRowsFloat(keys, key_base, row_stride, start, seq_len);
    StageRowsFloat(values, value_base, row_stride, start, seq_len);
    __syncthreads();
    for (int j = 0; j < kSimtTile; ++j) {
      if (!valid || start + j > row) break;
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
    }
  }
  if (!valid) return;
  float* destination = dqkv + (batch_offset + row) * row_stride + head * kHeadSize;
#pragma unroll
  for (int d = 0; d < kHeadSize; ++d) destination[d] += dquery[d];
}

// ---- launchers -------------------------------------------------------------------------------------------------

// Query tiles of `rows` rows covering seq_len.
unsigned TileCount(int64_t seq_len, int rows) { return static_cast<unsigned>((seq_len + rows - 1) / rows); }

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

absl::Status AttentionForwardBf16WithQueryTile(int query_tile_rows, void* out, float* logsumexp, const void* qkv,
                                               int64_t batch, int64_t seq_len, int64_t num_heads,
                                               int64_t head_size, cudaStream_t stream) {
  constexpr const char* kOp = "AttentionForward<bf16>";
  if (absl::Status status = CheckShapes(kOp, batch, seq_len, num_heads, head_size); !status.ok()) return status;
  for (const auto& [name, pointer] : {std::pair<const char*, const void*>{"out", out}, {"qkv", qkv}}) {
    if (absl::Status status = CheckAligned(kOp, name, pointer); !status.ok()) return status;
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

namespace {

absl::Status ForwardForType(bf16* out, float* logsumexp, const bf16* qkv, int64_t batch, int64_t seq_len,
                            int64_t num_heads, int64_t head_size, cudaStream_t stream) {
  return AttentionForwardBf16WithQueryTile(kDefaultForwardQueryRows, out, logsumexp, qkv, batch, seq_len, num_heads,
                                           head_size, stream);
}

absl::Status ForwardForType(float* out, float* logsumexp, const float* qkv, int64_t batch, int64_t seq_len,
                            int64_t num_heads, int64_t head_size, cudaStream_t stream) {
  constexpr const char* kOp = "AttentionForward<float>";
  if (absl::Status status = CheckShapes(kOp, batch, seq_len, num_heads, head_size); !status.ok()) return status;
  const dim3 grid(static_cast<unsigned>(batch * num_heads), TileCount(seq_len, kSimtRows));
  AttentionForwardFloatKernel<<<grid, kSimtRows, 0, stream>>>(out, logsumexp, qkv, static_cast<int>(seq_len),
                                                                static_cast<int>(num_heads),
                                                                1.0f / std::sqrt(static_cast<float>(kHeadSize)));
  return LastLaunchStatus("AttentionForwardFloatKernel launch");
}

absl::Status BackwardForType(bf16* dqkv, const bf16* dout, const bf16* qkv, const bf16* out,
                             const float* logsumexp, float* scratch, int64_t batch, int64_t seq_len,
                             int64_t num_heads, int64_t head_size, cudaStream_t stream) {
  constexpr const char* kOp = "AttentionBackward<bf16>";
  if (absl::Status status = CheckShapes(kOp, batch, seq_len, num_heads, head_size); !status.ok()) return status;
  for (const auto& [name, pointer] : {std::pair<const char*, const void*>{"dqkv", dqkv},
                                      {"dout", dout},
                                      {"qkv", qkv},
                                      {"out", out}}) {
    if (absl::Status status = CheckAligned(kOp, name, pointer); !status.ok()) return status;
  }
  const int64_t rows = batch * num_heads * seq_len;
  const int threads = 256;
  const unsigned row_dot_blocks = static_cast<unsigned>((rows * 8 + threads - 1) / threads);
  RowDotBf16Kernel<<<row_dot_blocks, threads, 0, stream>>>(scratch, dout, out, rows, static_cast<int>(seq_len),
                                                            static_cast<int>(num_heads));
  if (absl::Status status = LastLaunchStatus("RowDotBf16Kernel launch"); !status.ok()) return status;

  const float scale = 1.0f / std::sqrt(static_cast<float>(kHeadSize));
  const dim3 grid(static_cast<unsigned>(batch * num_heads), TileCount(seq_len, kBackwardTile));
  FlashBackwardKeyValueBf16Kernel<<<grid, 128, 0, stream>>>(dqkv, dout, qkv, logsumexp, scratch,
                                                            static_cast<int>(seq_len), static_cast<int>(num_heads),
                                                            scale * kLog2e, scale);
  if (absl::Status status = LastLaunchStatus("FlashBackwardKeyValueBf16Kernel launch"); !status.ok()) return status;
  FlashBackwardQueryBf16Kernel<<<grid, 128, 0, stream>>>(dqkv, dout, qkv, logsumexp, scratch,
                                                         static_cast<int>(seq_len), static_cast<int>(num_heads),
                                                         scale * kLog2e, scale);
  return LastLaunchStatus("FlashBackwardQueryBf16Kernel launch");
}

absl::Status BackwardForType(float* dqkv, const float* dout, const float* qkv, const float* out,
                             const float* logsumexp, float* scratch, int64_t batch, int64_t seq_len,
                             int64_t num_heads, int64_t head_size, cudaStream_t stream) {
  constexpr const char* kOp = "AttentionBackward<float>";
  if (absl::Status status = CheckShapes(kOp, batch, seq_len, num_heads, head_size); !status.ok()) return status;
  const int64_t rows = batch * num_heads * seq_len;
  const int threads = 256;
  RowDotFloatKernel<<<static_cast<unsigned>((rows + threads - 1) / threads), threads, 0, stream>>>(
      scratch, dout, out, rows, static_cast<int>(seq_len), static_cast<int>(num_heads));
  if (absl::Status status = LastLaunchStatus("RowDotFloatKernel launch"); !status.ok()) return status;

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

}  // namespace

template <typename T>
absl::Status AttentionForward(T* out, float* logsumexp, const T* qkv, int64_t batch, int64_t seq_len,
                              int64_t num_heads, int64_t head_size, cudaStream_t stream) {
  return ForwardForType(out, logsumexp, qkv, batch, seq_len, num_heads, head_size, stream);
}

template <typename T>
absl::Status AttentionBackward(T* dqkv, const T* dout, const T* qkv, const T* out, const float* logsumexp,
                               float* scratch, int64_t batch, int64_t seq_len, int64_t num_heads, int64_t head_size,
                               cudaStream_t stream) {
  return BackwardForType(dqkv, dout, qkv, out, logsumexp, scratch, batch, seq_len, num_heads, head_size, stream);
}

template absl::Status AttentionForward<float>(float*, float*, const float*, int64_t, int64_t, int64_t, int64_t,
                                              cudaStream_t);
template absl::Status AttentionForward<bf16>(bf16*, float*, const bf16*, int64_t, int64_t, int64_t, int64_t,
                                             cudaStream_t);
template absl::Status AttentionBackward<float>(float*, const float*, const float*, const float*, const float*, float*,
                                               int64_t, int64_t, int64_t, int64_t, cudaStream_t);
template absl::Status AttentionBackward<bf16>(bf16*, const bf16*, const bf16*, const bf16*, const float*, float*,
                                              int64_t, int64_t, int64_t, int64_t, cudaStream_t);

}  // namespace kachi::cuda
