// Tensor-core building blocks of the bf16 flash attention kernels (attention_forward.cu, attention_backward.cu):
// PTX wrappers (cp.async, ldmatrix, mma.sync m16n8k16, ex2, bf16 packing) and the warp-level tile helpers built on
// them (padded shared tiles of 64-wide head rows, A fragments, 16 x 64 accumulators). Included by .cu files only.
#ifndef KACHI_KERNELS_ATTENTION_MMA_CUH_
#define KACHI_KERNELS_ATTENTION_MMA_CUH_

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "kernels/attention_common.cuh"

namespace kachi::cuda::attention_internal {

inline constexpr int kSmemStride = kHeadSize + 8;    // padded shared row (bf16): 144 bytes, ldmatrix conflict-free
inline constexpr int kChunksPerRow = kHeadSize / 8;  // 16-byte chunks per head row

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

// acc[n] (16 x 8 each, 8 of them: 16 x 64) += A (16 x 64, fragments over 4 k-steps) * B, B read from `tile` (64
// rows of 64 columns) by ldmatrix: with kTransposedB, B = tile^T (row n of the tile is column n of the product);
// else B = tile (its rows are the contraction index).
template <bool kTransposedB>
__device__ __forceinline__ void MmaOverTile(float (&acc)[8][4], const uint32_t (&a)[4][4], const bf16* tile) {
  const int lane = threadIdx.x % 32;
  // This lane's row within a 16-row block and column offset within a 16-column block of its ldmatrix address.
  const int lane_row = kTransposedB ? (lane & 7) + (lane >> 4) * 8 : (lane & 7) + ((lane >> 3) & 1) * 8;
  const int lane_column = kTransposedB ? ((lane >> 3) & 1) * 8 : (lane >> 4) * 8;
#pragma unroll
  for (int k_step = 0; k_step < 4; ++k_step) {
#pragma unroll
    for (int pair = 0; pair < 4; ++pair) {
      uint32_t b[4];
      if constexpr (kTransposedB) {
        LoadMatrixX4(b, tile + (pair * 16 + lane_row) * kSmemStride + k_step * 16 + lane_column);
      } else {
        LoadMatrixX4Transposed(b, tile + (k_step * 16 + lane_row) * kSmemStride + pair * 16 + lane_column);
      }
      MmaBf16(acc[2 * pair], a[k_step], b[0], b[1]);
      MmaBf16(acc[2 * pair + 1], a[k_step], b[2], b[3]);
    }
  }
}

// acc[n] (16 x 8 each, 8 of them: 16 x 64) += A (16 x 64, fragments) * tile^T, where `tile` holds 64 rows of
// 64 columns and row n of the tile is column n of the product (S = Q K^T style).
__device__ __forceinline__ void MmaTransposedTile(float (&acc)[8][4], const uint32_t (&a)[4][4], const bf16* tile) {
  MmaOverTile<true>(acc, a, tile);
}

// acc[n] (16 x 64) += P (16 x 64, bf16 A fragments over the tile's rows) * tile, where `tile` holds 64 rows
// (the contraction index) of 64 columns (O += P V style).
__device__ __forceinline__ void MmaTile(float (&acc)[8][4], const uint32_t (&p)[4][4], const bf16* tile) {
  MmaOverTile<false>(acc, p, tile);
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

}  // namespace kachi::cuda::attention_internal

#endif  // KACHI_KERNELS_ATTENTION_MMA_CUH_
