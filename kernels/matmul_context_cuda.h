// cuBLASLt state for the CUDA matmuls (kernels/matmul_cuda.h): one MatmulContext per (device, stream) holds the
// cuBLASLt handle, a 32 MiB workspace, the matmul plans (descriptors + chosen algorithm) cached by problem shape,
// a scratch buffer for epilogue outputs, and the options (TF32 for float, epilogue fusion on/off).
// All matrices here are column-major, as cuBLASLt sees them; matmul.cu maps the row-major kachi layouts onto them.
#ifndef KACHI_KERNELS_MATMUL_CONTEXT_CUDA_H_
#define KACHI_KERNELS_MATMUL_CONTEXT_CUDA_H_

#include <cublasLt.h>
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <tuple>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "kernels/base/device_buffer.h"

namespace kachi::cuda {

// How float (fp32) matmuls use the tensor cores; bf16 matmuls always multiply bf16 and accumulate in fp32.
enum class FloatMatmulMode {
  kExact,  // CUBLAS_COMPUTE_32F: full fp32 products (what the 1e-5 tests check)
  kTf32,   // CUBLAS_COMPUTE_32F_FAST_TF32: operands rounded to tf32 (about 3e-4 relative error), much faster
};

// One column-major product D = op(A) @ op(B) + beta * D with an optional cuBLASLt epilogue (alpha is 1).
// op(A) is [m, k], op(B) is [k, n], D is [m, n].
struct LtGemm {
  cudaDataType_t type = CUDA_R_32F;  // element type of A, B, D, bias and aux: CUDA_R_32F or CUDA_R_16BF
  bool transpose_a = false;          // op(A) = A^T (A stored [k, m]) instead of A (stored [m, k])
  bool transpose_b = false;          // op(B) = B^T (B stored [n, k]) instead of B (stored [k, n])
  int64_t m = 0, n = 0, k = 0;
  const void* a = nullptr;
  int64_t lda = 0;
  const void* b = nullptr;
  int64_t ldb = 0;
  void* d = nullptr;
  int64_t ldd = 0;
  float beta = 0;  // 0: D is written; 1: D accumulates
  cublasLtEpilogue_t epilogue = CUBLASLT_EPILOGUE_DEFAULT;
  void* bias = nullptr;  // bias [m] (BIAS epilogues, read) or bias gradient (BGRADA: [m], BGRADB: [n]; written)
  void* aux = nullptr;   // GELU pre-activation [m, n] (GELU_AUX*: written, DGELU*: read)
  int64_t aux_ld = 0;    // leading dimension of aux (cuBLASLt: a multiple of 8, >= m)
};

// Which epilogues run inside the cuBLASLt matmul (true) or as a plain matmul plus a kachi kernel (false). Both give
// the same results (tests check every combination); the choice is speed, measured by bench_cuda_matmul.
struct EpilogueFusion {
  bool forward = true;             // BIAS, GELU_AUX, GELU_AUX_BIAS in the forward matmuls
  bool bias_gradient = true;       // BGRADB on the weight-gradient matmul
  bool gelu_gradient = true;       // DGELU on the input-gradient matmul of MatmulBackwardThroughGelu
  // With gelu_gradient: DGELU_BGRAD (true) or DGELU + kachi column sums (false). Off by default: on an H100
  // (cuBLASLt 13.0, GPT-2 fc proj 32768x3072->768 bf16, 2026-11-22) the DGELU_BGRAD matmul took 0.92 ms against
  // about 0.41 ms for DGELU plus the column sums; the plain matmul takes 0.21 ms.
  bool gelu_bias_gradient = false;
};

// Counts of epilogue paths taken, so tests and benchmarks can tell a fused run from a fallback.
struct MatmulPathCounts {
  int64_t fused = 0;     // the epilogue ran inside the cuBLASLt matmul
  int64_t unfused = 0;   // cuBLASLt offered no algorithm for it (or fusion was off): plain matmul + kachi kernel
};

// cuBLASLt handle, workspace, plan cache, scratch and options bound to one stream of one device. Not for use from
// several host threads at once (the stream orders its work anyway); ForStream's registry itself is thread-safe.
class MatmulContext {
 public:
  // The registry's context for `stream` on the current device, created on first use and kept until Forget or exit.
  static absl::StatusOr<MatmulContext*> ForStream(cudaStream_t stream);
  // Frees the registry's context for `stream` on `device`, if any (its workspace, scratch and plans). Call before
  // destroying a stream that ran matmuls, so that a process creating streams over and over (a lane per chunk of
  // steps) does not keep a context per dead stream. Any context pointer for it from ForStream dangles afterwards.
  static void Forget(int device, cudaStream_t stream);
  // Number of contexts the registry holds (all devices).
  static size_t RegisteredContexts();
  // A context owned by the caller (freed with it), bound to `stream` on the current device.
  static absl::StatusOr<std::unique_ptr<MatmulContext>> Create(cudaStream_t stream);

  MatmulContext(const MatmulContext&) = delete;
  MatmulContext& operator=(const MatmulContext&) = delete;
  ~MatmulContext();

  // Enqueues `gemm` on the stream. Returns true when it ran, false (nothing enqueued) when cuBLASLt has no algorithm
  // for this problem and epilogue, so the caller can fall back; an error for invalid input or a failed call.
  absl::StatusOr<bool> Run(const LtGemm& gemm);

  // Device buffer of at least `bytes`, reused across calls (its contents are only valid within one call). Growing
  // it frees and allocates in stream order (no host wait, no device-wide synchronization).
  absl::StatusOr<void*> Scratch(size_t bytes);

  // Options (read at each call).
  FloatMatmulMode float_mode() const { return float_mode_; }
  void set_float_mode(FloatMatmulMode mode) { float_mode_ = mode; }
  const EpilogueFusion& fusion() const { return fusion_; }
  void set_fusion(const EpilogueFusion& fusion) { fusion_ = fusion; }
  // true: the default EpilogueFusion; false: plain matmul + kachi kernels for every epilogue.
  void set_fuse_epilogues(bool fuse) { fusion_ = fuse ? EpilogueFusion{} : EpilogueFusion{false, false, false, false}; }

  // Epilogue path counts since creation (updated by the matmul functions through RecordPath).
  const MatmulPathCounts& path_counts() const { return path_counts_; }
  // Records one epilogue call that ran fused (true) or unfused (false).
  void RecordPath(bool fused) { ++(fused ? path_counts_.fused : path_counts_.unfused); }

  cudaStream_t stream() const { return stream_; }
  int device() const { return device_; }
  // Number of distinct plans built so far.
  size_t cached_plans() const { return plans_.size(); }

 private:
  // Everything the chosen algorithm depends on: types, shapes, epilogue and pointer alignments.
  using PlanKey = std::tuple<int, int, int, bool, bool, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t,
                             bool, int, int, int, int, int>;
  // Descriptors and the algorithm cuBLASLt's heuristic chose (has_algorithm false: none exists).
  struct Plan {
    cublasLtMatmulDesc_t desc = nullptr;
    cublasLtMatrixLayout_t layout_a = nullptr, layout_b = nullptr, layout_d = nullptr;
    cublasLtMatmulAlgo_t algorithm{};
    bool has_algorithm = false;
    ~Plan();
  };

  MatmulContext(cudaStream_t stream, int device) : stream_(stream), device_(device) {}
  absl::Status Initialize();
  absl::StatusOr<Plan*> FindOrBuildPlan(const LtGemm& gemm, cublasComputeType_t compute);

  cudaStream_t stream_;
  int device_;
  cublasLtHandle_t handle_ = nullptr;
  base::DeviceBuffer workspace_;  // cuBLASLt workspace of workspace_bytes_
  size_t workspace_bytes_ = 0;
  void* scratch_ = nullptr;
  size_t scratch_bytes_ = 0;
  FloatMatmulMode float_mode_ = FloatMatmulMode::kExact;
  EpilogueFusion fusion_;
  MatmulPathCounts path_counts_;
  std::map<PlanKey, std::unique_ptr<Plan>> plans_;
};

}  // namespace kachi::cuda

#endif  // KACHI_KERNELS_MATMUL_CONTEXT_CUDA_H_
