// CUDA token embedding forward and deterministic backward (see token_embedding_cuda.h for the rule).
// Backward steps: (1) key[n] = local row of tokens[n], or vocab_rows for tokens of other shards, value[n] = n;
// (2) stable radix sort by key; (3) one thread per (sorted segment start, channel vector) sums the segment.
#include "kernels/token_embedding_cuda.h"

#include <cub/device/device_radix_sort.cuh>

#include "kernels/cuda_memory_util.cuh"

namespace kachi::cuda {
namespace {

constexpr int kThreads = 256;
constexpr size_t kWorkspaceAlignment = 256;

// Local row of `token` on the shard, or -1 when another shard owns it.
__device__ __forceinline__ int64_t LocalRow(int32_t token, int64_t vocab_start, int64_t vocab_rows) {
  const int64_t row = static_cast<int64_t>(token) - vocab_start;
  return (row >= 0 && row < vocab_rows) ? row : -1;
}

// One thread per vector of out: [num_tokens, channels / VEC].
template <typename T, int VEC>
__global__ void TokenEmbeddingForwardKernel(T* out, const int32_t* tokens, const T* table, int64_t num_tokens,
                                            int64_t vectors_per_row, int64_t vocab_start, int64_t vocab_rows) {
  const int64_t index = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (index >= num_tokens * vectors_per_row) return;
  int64_t n, vector;
  internal::DivMod(index, vectors_per_row, n, vector);
  const int64_t channels = vectors_per_row * VEC;
  const int64_t column = vector * VEC;
  const int64_t row = LocalRow(tokens[n], vocab_start, vocab_rows);
  float values[VEC];
  if (row >= 0) {
    internal::LoadFloats<VEC>(values, table + row * channels + column);
  } else {
#pragma unroll
    for (int k = 0; k < VEC; ++k) values[k] = 0.0f;
  }
  internal::StoreFloats<VEC>(out + n * channels + column, values);
}

// Sort keys (local row, or vocab_rows for foreign tokens) and values (positions).
__global__ void TokenKeysKernel(int32_t* keys, int32_t* positions, const int32_t* tokens, int64_t num_tokens,
                                int64_t vocab_start, int64_t vocab_rows) {
  const int64_t n = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (n >= num_tokens) return;
  const int64_t row = LocalRow(tokens[n], vocab_start, vocab_rows);
  keys[n] = static_cast<int32_t>(row >= 0 ? row : vocab_rows);
  positions[n] = static_cast<int32_t>(n);
}

// One thread per (sorted index i, channel vector): the thread at the first index of a run of equal owned keys
// sums the run's dout rows in sorted (= increasing position) order onto dtable's row.
template <typename T, int VEC>
__global__ void TokenEmbeddingBackwardKernel(T* dtable, const T* dout, const int32_t* sorted_keys,
                                             const int32_t* sorted_positions, int64_t num_tokens,
                                             int64_t vectors_per_row, int64_t vocab_rows) {
  const int64_t index = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (index >= num_tokens * vectors_per_row) return;
  int64_t first, vector;
  internal::DivMod(index, vectors_per_row, first, vector);
  const int32_t key = sorted_keys[first];
  if (key >= vocab_rows || (first > 0 && sorted_keys[first - 1] == key)) return;
  const int64_t channels = vectors_per_row * VEC;
  const int64_t column = vector * VEC;
  T* target = dtable + static_cast<int64_t>(key) * channels + column;
  float sum[VEC];
  internal::LoadFloats<VEC>(sum, target);
  for (int64_t i = first; i < num_tokens && sorted_keys[i] == key; ++i) {
    float gradient[VEC];
    internal::LoadFloats<VEC>(gradient, dout + static_cast<int64_t>(sorted_positions[i]) * channels + column);
#pragma unroll
    for (int k = 0; k < VEC; ++k) sum[k] += gradient[k];
  }
  internal::StoreFloats<VEC>(target, sum);
}

absl::Status CheckShape(const char* op, int64_t num_tokens, int64_t channels, int64_t vocab_rows) {
  if (num_tokens < 0 || channels < 0 || vocab_rows < 0) {
    return absl::InvalidArgumentError(absl::StrCat(op, ": num_tokens = ", num_tokens, ", channels = ", channels,
                                                   ", vocab_rows = ", vocab_rows, "; expected all >= 0"));
  }
  if (num_tokens >= INT32_MAX || vocab_rows >= INT32_MAX) {
    return absl::InvalidArgumentError(absl::StrCat(op, ": num_tokens = ", num_tokens, ", vocab_rows = ", vocab_rows,
                                                   "; expected both < 2^31 - 1 (int32 sort keys)"));
  }
  return absl::OkStatus();
}

size_t RoundUp(size_t bytes) { return (bytes + kWorkspaceAlignment - 1) / kWorkspaceAlignment * kWorkspaceAlignment; }

// Bits that hold every key in [0, vocab_rows] (the sentinel included).
int KeyBits(int64_t vocab_rows) {
  int bits = 1;
  while ((int64_t{1} << bits) <= vocab_rows) ++bits;
  return bits;
}

// Bytes of cub's radix-sort scratch for `num_tokens` pairs.
absl::StatusOr<size_t> SortScratchBytes(int64_t num_tokens, int64_t vocab_rows) {
  size_t bytes = 0;
  KACHI_CUDA_RETURN_IF_ERROR(cub::DeviceRadixSort::SortPairs(
      nullptr, bytes, static_cast<const int32_t*>(nullptr), static_cast<int32_t*>(nullptr),
      static_cast<const int32_t*>(nullptr), static_cast<int32_t*>(nullptr), static_cast<int>(num_tokens), 0,
      KeyBits(vocab_rows)));
  return bytes;
}

}  // namespace

template <typename T>
absl::Status TokenEmbeddingForward(T* out, const int32_t* tokens, const T* table, int64_t num_tokens, int64_t channels,
                                   int64_t vocab_start, int64_t vocab_rows, cudaStream_t stream) {
  if (absl::Status status = CheckShape("TokenEmbeddingForward", num_tokens, channels, vocab_rows); !status.ok()) {
    return status;
  }
  if (num_tokens == 0 || channels == 0) return absl::OkStatus();
  constexpr int kVec = internal::kVec16<T>;
  if (channels % kVec == 0 && internal::IsAligned16(out) && internal::IsAligned16(table)) {
    const int64_t vectors = channels / kVec;
    TokenEmbeddingForwardKernel<T, kVec><<<internal::CeilDiv(num_tokens * vectors, kThreads), kThreads, 0, stream>>>(
        out, tokens, table, num_tokens, vectors, vocab_start, vocab_rows);
  } else {
    TokenEmbeddingForwardKernel<T, 1><<<internal::CeilDiv(num_tokens * channels, kThreads), kThreads, 0, stream>>>(
        out, tokens, table, num_tokens, channels, vocab_start, vocab_rows);
  }
  return internal::LaunchStatus("TokenEmbeddingForwardKernel");
}

absl::StatusOr<size_t> TokenEmbeddingBackwardWorkspaceBytes(int64_t num_tokens, int64_t vocab_rows) {
  if (absl::Status status = CheckShape("TokenEmbeddingBackwardWorkspaceBytes", num_tokens, 0, vocab_rows);
      !status.ok()) {
    return status;
  }
  absl::StatusOr<size_t> sort_bytes = SortScratchBytes(num_tokens, vocab_rows);
  if (!sort_bytes.ok()) return sort_bytes.status();
  return 4 * RoundUp(sizeof(int32_t) * num_tokens) + RoundUp(*sort_bytes);
}

template <typename T>
absl::Status TokenEmbeddingBackward(T* dtable, const T* dout, const int32_t* tokens, int64_t num_tokens,
                                    int64_t channels, int64_t vocab_start, int64_t vocab_rows, void* workspace,
                                    size_t workspace_bytes, cudaStream_t stream) {
  if (absl::Status status = CheckShape("TokenEmbeddingBackward", num_tokens, channels, vocab_rows); !status.ok()) {
    return status;
  }
  if (num_tokens == 0 || channels == 0 || vocab_rows == 0) return absl::OkStatus();
  absl::StatusOr<size_t> needed = TokenEmbeddingBackwardWorkspaceBytes(num_tokens, vocab_rows);
  if (!needed.ok()) return needed.status();
  if (workspace == nullptr || workspace_bytes < *needed) {
    return absl::InvalidArgumentError(absl::StrCat("TokenEmbeddingBackward: workspace of ", workspace_bytes,
                                                   " bytes, expected at least ", *needed));
  }
  const size_t array_bytes = RoundUp(sizeof(int32_t) * num_tokens);
  char* base = static_cast<char*>(workspace);
  int32_t* keys = reinterpret_cast<int32_t*>(base);
  int32_t* sorted_keys = reinterpret_cast<int32_t*>(base + array_bytes);
  int32_t* positions = reinterpret_cast<int32_t*>(base + 2 * array_bytes);
  int32_t* sorted_positions = reinterpret_cast<int32_t*>(base + 3 * array_bytes);
  void* sort_scratch = base + 4 * array_bytes;
  size_t sort_bytes = workspace_bytes - 4 * array_bytes;

  TokenKeysKernel<<<internal::CeilDiv(num_tokens, kThreads), kThreads, 0, stream>>>(keys, positions, tokens, num_tokens,
                                                                                    vocab_start, vocab_rows);
  KACHI_CUDA_RETURN_IF_LAUNCH_FAILED("TokenKeysKernel");
  KACHI_CUDA_RETURN_IF_ERROR(cub::DeviceRadixSort::SortPairs(sort_scratch, sort_bytes, keys, sorted_keys, positions,
                                                             sorted_positions, static_cast<int>(num_tokens), 0,
                                                             KeyBits(vocab_rows), stream));
  constexpr int kVec = internal::kVec16<T>;
  if (channels % kVec == 0 && internal::IsAligned16(dtable) && internal::IsAligned16(dout)) {
    const int64_t vectors = channels / kVec;
    TokenEmbeddingBackwardKernel<T, kVec><<<internal::CeilDiv(num_tokens * vectors, kThreads), kThreads, 0, stream>>>(
        dtable, dout, sorted_keys, sorted_positions, num_tokens, vectors, vocab_rows);
  } else {
    TokenEmbeddingBackwardKernel<T, 1><<<internal::CeilDiv(num_tokens * channels, kThreads), kThreads, 0, stream>>>(
        dtable, dout, sorted_keys, sorted_positions, num_tokens, channels, vocab_rows);
  }
  return internal::LaunchStatus("TokenEmbeddingBackwardKernel");
}

template <typename T>
absl::Status TokenEmbeddingBackward(T* dtable, const T* dout, const int32_t* tokens, int64_t num_tokens,
                                    int64_t channels, int64_t vocab_start, int64_t vocab_rows, cudaStream_t stream) {
  absl::StatusOr<size_t> bytes = TokenEmbeddingBackwardWorkspaceBytes(num_tokens, vocab_rows);
  if (!bytes.ok()) return bytes.status();
  void* workspace = nullptr;
  KACHI_CUDA_RETURN_IF_ERROR(cudaMallocAsync(&workspace, *bytes, stream));
  const absl::Status status = TokenEmbeddingBackward(dtable, dout, tokens, num_tokens, channels, vocab_start,
                                                     vocab_rows, workspace, *bytes, stream);
  const absl::Status free_status = internal::CudaStatus(cudaFreeAsync(workspace, stream), "cudaFreeAsync");
  return status.ok() ? free_status : status;
}

#define KACHI_INSTANTIATE_TOKEN_EMBEDDING(T)                                                                        \
  template absl::Status TokenEmbeddingForward<T>(T*, const int32_t*, const T*, int64_t, int64_t, int64_t, int64_t,  \
                                                 cudaStream_t);                                                     \
  template absl::Status TokenEmbeddingBackward<T>(T*, const T*, const int32_t*, int64_t, int64_t, int64_t, int64_t, \
                                                  void*, size_t, cudaStream_t);                                     \
  template absl::Status TokenEmbeddingBackward<T>(T*, const T*, const int32_t*, int64_t, int64_t, int64_t, int64_t, \
                                                  cudaStream_t);
KACHI_INSTANTIATE_TOKEN_EMBEDDING(float)
KACHI_INSTANTIATE_TOKEN_EMBEDDING(__nv_bfloat16)
#undef KACHI_INSTANTIATE_TOKEN_EMBEDDING

}  // namespace kachi::cuda
