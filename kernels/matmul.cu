// CUDA matmuls through cuBLASLt (see matmul_cuda.h). Row-major kachi matrices are column-major transposes to
// cuBLASLt, so with N = rows, IC = in_channels, OC = out_channels:
//   forward   out^T [OC, N]   = (weight [IC, OC])^T @ in^T [IC, N]        (A = weight transposed, B = in)
//   dInput    din^T [IC, N]   = weight [IC, OC] @ dout^T [OC, N]          (A = weight, B = dout)
//   dWeight   dweight^T [IC, OC] = in^T [IC, N] @ (dout^T [OC, N])^T      (A = in, B = dout transposed; BGRADB sums
//                                                                          op(B) over k = N: the bias gradient)
// cuBLASLt writes bias gradients, so they land in the context's scratch and are added into kachi's accumulated ones.
#include "kernels/matmul_cuda.h"

#include <type_traits>

#include "absl/strings/str_cat.h"
#include "kernels/base/status_macros.h"
#include "kernels/matmul_epilogue_kernels_cuda.h"
#include "kernels/matmul_status_cuda.h"

namespace kachi::cuda {
namespace {

using matmul_internal::AccumulateColumnSums;
using matmul_internal::AccumulateVector;
using matmul_internal::BiasGelu;
using matmul_internal::ColumnSumScratchFloats;
using matmul_internal::GeluBackwardInPlace;

template <typename T>
constexpr cudaDataType_t kElementType = std::is_same_v<T, float> ? CUDA_R_32F : CUDA_R_16BF;

absl::Status ValidateSizes(int64_t rows, int64_t in_channels, int64_t out_channels) {
  if (rows < 0 || in_channels <= 0 || out_channels <= 0) {
    return absl::InvalidArgumentError(absl::StrCat("matmul sizes rows=", rows, " in_channels=", in_channels,
                                                   " out_channels=", out_channels,
                                                   ": expected rows >= 0 and positive channel counts"));
  }
  return absl::OkStatus();
}

absl::Status RequirePointer(const void* pointer, const char* name) {
  if (pointer != nullptr) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat("matmul argument ", name, " is null: expected a device pointer"));
}

// cuBLASLt's aux matrix (the GELU pre-activation) needs a leading dimension that is a multiple of 8.
absl::Status RequireAuxLeadingDimension(int64_t channels, const char* name) {
  if (channels % 8 == 0) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      "fused GELU matmul: ", name, " = ", channels,
      " is the leading dimension of cuBLASLt's GELU aux matrix and must be a multiple of 8; use the unfused "
      "MatmulForward/MatmulBackward with a separate GELU kernel for this size"));
}

// Runs a gemm that has no epilogue to fall back from: "no algorithm" is an error here.
absl::Status RunPlain(MatmulContext& context, const LtGemm& gemm, const char* what) {
  absl::StatusOr<bool> ran = context.Run(gemm);
  if (!ran.ok()) return ran.status();
  if (!*ran) {
    return absl::UnimplementedError(absl::StrCat("cuBLASLt offers no algorithm for the ", what, " matmul (m=",
                                                 gemm.m, " n=", gemm.n, " k=", gemm.k, ")"));
  }
  return absl::OkStatus();
}

// Runs `gemm` with its epilogue when `allowed` (the context's EpilogueFusion flag) and cuBLASLt has an algorithm:
// true when it ran fused.
absl::StatusOr<bool> TryFused(MatmulContext& context, const LtGemm& gemm, bool allowed) {
  if (!allowed) return false;
  return context.Run(gemm);
}

// sums += column sums of the row-major [rows, cols] matrix, with partial sums in the context's scratch.
template <typename T>
absl::Status ColumnSums(MatmulContext& context, T* sums, const T* matrix, int64_t rows, int64_t cols) {
  absl::StatusOr<void*> scratch = context.Scratch(sizeof(float) * ColumnSumScratchFloats(rows, cols));
  if (!scratch.ok()) return scratch.status();
  return AccumulateColumnSums(sums, matrix, rows, cols, static_cast<float*>(*scratch), context.stream());
}

template <typename T>
LtGemm ForwardGemm(T* out, const T* in, const T* weight, int64_t rows, int64_t in_channels, int64_t out_channels) {
  LtGemm gemm;
  gemm.type = kElementType<T>;
  gemm.transpose_a = true;
  gemm.m = out_channels, gemm.n = rows, gemm.k = in_channels;
  gemm.a = weight, gemm.lda = in_channels;
  gemm.b = in, gemm.ldb = in_channels;
  gemm.d = out, gemm.ldd = out_channels;
  return gemm;
}

template <typename T>
LtGemm InputGradientGemm(T* din, const T* dout, const T* weight, int64_t rows, int64_t in_channels,
                         int64_t out_channels, float beta) {
  LtGemm gemm;
  gemm.type = kElementType<T>;
  gemm.m = in_channels, gemm.n = rows, gemm.k = out_channels;
  gemm.a = weight, gemm.lda = in_channels;
  gemm.b = dout, gemm.ldb = out_channels;
  gemm.d = din, gemm.ldd = in_channels;
  gemm.beta = beta;
  return gemm;
}

template <typename T>
LtGemm WeightGradientGemm(T* dweight, const T* dout, const T* in, int64_t rows, int64_t in_channels,
                          int64_t out_channels) {
  LtGemm gemm;
  gemm.type = kElementType<T>;
  gemm.transpose_b = true;
  gemm.m = in_channels, gemm.n = out_channels, gemm.k = rows;
  gemm.a = in, gemm.lda = in_channels;
  gemm.b = dout, gemm.ldb = out_channels;
  gemm.d = dweight, gemm.ldd = in_channels;
  gemm.beta = 1.0f;
  return gemm;
}

// dweight += dout^T @ in and, when dbias is given, dbias += column sums of dout (BGRADB, else a kachi kernel).
template <typename T>
absl::Status WeightAndBiasGradients(MatmulContext& context, T* dweight, T* dbias, const T* dout, const T* in,
                                    int64_t rows, int64_t in_channels, int64_t out_channels) {
  LtGemm gemm = WeightGradientGemm(dweight, dout, in, rows, in_channels, out_channels);
  if (dbias == nullptr) return RunPlain(context, gemm, "weight-gradient");
  absl::StatusOr<void*> scratch = context.Scratch(sizeof(T) * out_channels);
  if (!scratch.ok()) return scratch.status();
  LtGemm fused = gemm;
  fused.epilogue = CUBLASLT_EPILOGUE_BGRADB;
  fused.bias = *scratch;
  absl::StatusOr<bool> ran = TryFused(context, fused, context.fusion().bias_gradient);
  if (!ran.ok()) return ran.status();
  context.RecordPath(*ran);
  if (*ran) return AccumulateVector(dbias, static_cast<const T*>(*scratch), out_channels, context.stream());
  KACHI_RETURN_IF_ERROR(RunPlain(context, gemm, "weight-gradient"));
  return ColumnSums(context, dbias, dout, rows, out_channels);
}

absl::StatusOr<MatmulContext*> ContextFor(cudaStream_t stream) { return MatmulContext::ForStream(stream); }

}  // namespace

template <typename T>
absl::Status MatmulForward(T* out, const T* in, const T* weight, const T* bias, int64_t rows, int64_t in_channels,
                           int64_t out_channels, cudaStream_t stream) {
  KACHI_RETURN_IF_ERROR(ValidateSizes(rows, in_channels, out_channels));
  if (rows == 0) return absl::OkStatus();
  KACHI_RETURN_IF_ERROR(RequirePointer(out, "out"));
  absl::StatusOr<MatmulContext*> context = ContextFor(stream);
  if (!context.ok()) return context.status();
  const LtGemm gemm = ForwardGemm(out, in, weight, rows, in_channels, out_channels);
  if (bias == nullptr) return RunPlain(**context, gemm, "forward");
  LtGemm fused = gemm;
  fused.epilogue = CUBLASLT_EPILOGUE_BIAS;
  fused.bias = const_cast<T*>(bias);
  absl::StatusOr<bool> ran = TryFused(**context, fused, (*context)->fusion().forward);
  if (!ran.ok()) return ran.status();
  (*context)->RecordPath(*ran);
  if (*ran) return absl::OkStatus();
  KACHI_RETURN_IF_ERROR(RunPlain(**context, gemm, "forward"));
  return BiasGelu<T>(out, nullptr, bias, rows, out_channels, stream);
}

template <typename T>
absl::Status MatmulGeluForward(T* out, T* pre_gelu, const T* in, const T* weight, const T* bias, int64_t rows,
                               int64_t in_channels, int64_t out_channels, cudaStream_t stream) {
  KACHI_RETURN_IF_ERROR(ValidateSizes(rows, in_channels, out_channels));
  KACHI_RETURN_IF_ERROR(RequireAuxLeadingDimension(out_channels, "out_channels"));
  if (rows == 0) return absl::OkStatus();
  KACHI_RETURN_IF_ERROR(RequirePointer(out, "out"));
  KACHI_RETURN_IF_ERROR(RequirePointer(pre_gelu, "pre_gelu"));
  absl::StatusOr<MatmulContext*> context = ContextFor(stream);
  if (!context.ok()) return context.status();
  LtGemm fused = ForwardGemm(out, in, weight, rows, in_channels, out_channels);
  fused.epilogue = bias != nullptr ? CUBLASLT_EPILOGUE_GELU_AUX_BIAS : CUBLASLT_EPILOGUE_GELU_AUX;
  fused.bias = const_cast<T*>(bias);
  fused.aux = pre_gelu;
  fused.aux_ld = out_channels;
  absl::StatusOr<bool> ran = TryFused(**context, fused, (*context)->fusion().forward);
  if (!ran.ok()) return ran.status();
  (*context)->RecordPath(*ran);
  if (*ran) return absl::OkStatus();
  KACHI_RETURN_IF_ERROR(
      RunPlain(**context, ForwardGemm(pre_gelu, in, weight, rows, in_channels, out_channels), "forward"));
  return BiasGelu<T>(pre_gelu, out, bias, rows, out_channels, stream);
}

template <typename T>
absl::Status MatmulBackward(T* din, T* dweight, T* dbias, const T* dout, const T* in, const T* weight, int64_t rows,
                            int64_t in_channels, int64_t out_channels, cudaStream_t stream) {
  KACHI_RETURN_IF_ERROR(ValidateSizes(rows, in_channels, out_channels));
  if (rows == 0) return absl::OkStatus();
  KACHI_RETURN_IF_ERROR(RequirePointer(dweight, "dweight"));
  absl::StatusOr<MatmulContext*> context = ContextFor(stream);
  if (!context.ok()) return context.status();
  if (din != nullptr) {
    KACHI_RETURN_IF_ERROR(RunPlain(
        **context, InputGradientGemm(din, dout, weight, rows, in_channels, out_channels, 1.0f), "input-gradient"));
  }
  return WeightAndBiasGradients(**context, dweight, dbias, dout, in, rows, in_channels, out_channels);
}

template <typename T>
absl::Status MatmulBackwardThroughGelu(T* dpre_gelu, T* dpre_bias, T* dweight, T* dbias, const T* dout, const T* in,
                                       const T* weight, const T* pre_gelu, int64_t rows, int64_t in_channels,
                                       int64_t out_channels, cudaStream_t stream) {
  KACHI_RETURN_IF_ERROR(ValidateSizes(rows, in_channels, out_channels));
  KACHI_RETURN_IF_ERROR(RequireAuxLeadingDimension(in_channels, "in_channels"));
  if (rows == 0) return absl::OkStatus();
  KACHI_RETURN_IF_ERROR(RequirePointer(dpre_gelu, "dpre_gelu"));
  KACHI_RETURN_IF_ERROR(RequirePointer(pre_gelu, "pre_gelu"));
  KACHI_RETURN_IF_ERROR(RequirePointer(dweight, "dweight"));
  absl::StatusOr<MatmulContext*> context = ContextFor(stream);
  if (!context.ok()) return context.status();
  const LtGemm gemm = InputGradientGemm(dpre_gelu, dout, weight, rows, in_channels, out_channels, 0.0f);
  const EpilogueFusion fusion = (*context)->fusion();
  const bool bias_in_epilogue = dpre_bias != nullptr && fusion.gelu_bias_gradient;
  LtGemm fused = gemm;
  fused.epilogue = bias_in_epilogue ? CUBLASLT_EPILOGUE_DGELU_BGRAD : CUBLASLT_EPILOGUE_DGELU;
  fused.aux = const_cast<T*>(pre_gelu);
  fused.aux_ld = in_channels;
  if (bias_in_epilogue) {
    absl::StatusOr<void*> scratch = (*context)->Scratch(sizeof(T) * in_channels);
    if (!scratch.ok()) return scratch.status();
    fused.bias = *scratch;
  }
  absl::StatusOr<bool> ran = TryFused(**context, fused, fusion.gelu_gradient);
  if (!ran.ok()) return ran.status();
  (*context)->RecordPath(*ran);
  if (!*ran) {
    KACHI_RETURN_IF_ERROR(RunPlain(**context, gemm, "input-gradient"));
    KACHI_RETURN_IF_ERROR(GeluBackwardInPlace(dpre_gelu, pre_gelu, rows * in_channels, stream));
  }
  if (*ran && bias_in_epilogue) {
    KACHI_RETURN_IF_ERROR(AccumulateVector(dpre_bias, static_cast<const T*>(fused.bias), in_channels, stream));
  } else if (dpre_bias != nullptr) {
    KACHI_RETURN_IF_ERROR(ColumnSums<T>(**context, dpre_bias, dpre_gelu, rows, in_channels));
  }
  return WeightAndBiasGradients(**context, dweight, dbias, dout, in, rows, in_channels, out_channels);
}

#define KACHI_INSTANTIATE_CUDA_MATMUL(T)                                                                       \
  template absl::Status MatmulForward<T>(T*, const T*, const T*, const T*, int64_t, int64_t, int64_t,          \
                                         cudaStream_t);                                                        \
  template absl::Status MatmulGeluForward<T>(T*, T*, const T*, const T*, const T*, int64_t, int64_t, int64_t,  \
                                             cudaStream_t);                                                    \
  template absl::Status MatmulBackward<T>(T*, T*, T*, const T*, const T*, const T*, int64_t, int64_t, int64_t, \
                                          cudaStream_t);                                                       \
  template absl::Status MatmulBackwardThroughGelu<T>(T*, T*, T*, T*, const T*, const T*, const T*, const T*,   \
                                                     int64_t, int64_t, int64_t, cudaStream_t);

KACHI_INSTANTIATE_CUDA_MATMUL(float)
KACHI_INSTANTIATE_CUDA_MATMUL(__nv_bfloat16)

#undef KACHI_INSTANTIATE_CUDA_MATMUL

}  // namespace kachi::cuda
