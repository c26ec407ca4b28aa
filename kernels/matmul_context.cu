// MatmulContext (see matmul_context_cuda.h): cuBLASLt handle, workspace and plan cache per (device, stream).
#include "kernels/matmul_context_cuda.h"

#include <cstdint>
#include <utility>

#include "absl/strings/str_cat.h"
#include "kernels/base/status_macros.h"
#include "kernels/matmul_status_cuda.h"

namespace kachi::cuda {
namespace {

using matmul_internal::CublasStatus;
using matmul_internal::CudaStatus;

// cuBLASLt's recommended workspace for Hopper.
constexpr size_t kWorkspaceBytes = size_t{32} << 20;

// Largest power of two (up to 256, cuBLASLt's default assumption) that divides the address; 256 for nullptr.
int AlignmentBytes(const void* pointer) {
  const auto address = reinterpret_cast<uintptr_t>(pointer);
  int alignment = 256;
  while (alignment > 1 && address % alignment != 0) alignment /= 2;
  return alignment;
}

bool IsBiasGradient(cublasLtEpilogue_t epilogue) {
  return epilogue == CUBLASLT_EPILOGUE_BGRADA || epilogue == CUBLASLT_EPILOGUE_BGRADB ||
         epilogue == CUBLASLT_EPILOGUE_DGELU_BGRAD || epilogue == CUBLASLT_EPILOGUE_DRELU_BGRAD;
}

bool UsesBias(cublasLtEpilogue_t epilogue) {
  return IsBiasGradient(epilogue) || (static_cast<int>(epilogue) & static_cast<int>(CUBLASLT_EPILOGUE_BIAS)) != 0;
}

bool UsesGeluAux(cublasLtEpilogue_t epilogue) {
  return epilogue == CUBLASLT_EPILOGUE_GELU_AUX || epilogue == CUBLASLT_EPILOGUE_GELU_AUX_BIAS ||
         epilogue == CUBLASLT_EPILOGUE_DGELU || epilogue == CUBLASLT_EPILOGUE_DGELU_BGRAD;
}

// Sets one descriptor attribute from a typed value.
template <typename V>
absl::Status SetDesc(cublasLtMatmulDesc_t desc, cublasLtMatmulDescAttributes_t attribute, const V& value,
                     const char* what) {
  return CublasStatus(cublasLtMatmulDescSetAttribute(desc, attribute, &value, sizeof(value)), what);
}

// Checks what cuBLASLt would otherwise reject with a bare status code, with a message naming the rule.
absl::Status ValidateGemm(const LtGemm& gemm) {
  if (gemm.type != CUDA_R_32F && gemm.type != CUDA_R_16BF) {
    return absl::InvalidArgumentError(
        absl::StrCat("matmul element type ", static_cast<int>(gemm.type), " unsupported: expected fp32 or bf16"));
  }
  if (gemm.m <= 0 || gemm.n <= 0 || gemm.k <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("matmul sizes m=", gemm.m, " n=", gemm.n, " k=", gemm.k, ": expected all positive"));
  }
  if (gemm.a == nullptr || gemm.b == nullptr || gemm.d == nullptr) {
    return absl::InvalidArgumentError("matmul operand A, B or D is null: expected device pointers");
  }
  const int64_t a_rows = gemm.transpose_a ? gemm.k : gemm.m;
  const int64_t b_rows = gemm.transpose_b ? gemm.n : gemm.k;
  if (gemm.lda < a_rows || gemm.ldb < b_rows || gemm.ldd < gemm.m) {
    return absl::InvalidArgumentError(absl::StrCat("matmul leading dimensions lda=", gemm.lda, " ldb=", gemm.ldb,
                                                   " ldd=", gemm.ldd, " too small: expected at least ", a_rows, ", ",
                                                   b_rows, ", ", gemm.m));
  }
  if (UsesBias(gemm.epilogue) && gemm.bias == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("cuBLASLt epilogue ", static_cast<int>(gemm.epilogue), " needs a bias (gradient) pointer"));
  }
  if (UsesGeluAux(gemm.epilogue)) {
    if (gemm.aux == nullptr) {
      return absl::InvalidArgumentError("cuBLASLt GELU epilogue needs the aux (pre-activation) pointer");
    }
    if (gemm.aux_ld % 8 != 0 || gemm.aux_ld < gemm.m) {
      return absl::InvalidArgumentError(absl::StrCat("cuBLASLt GELU aux leading dimension ", gemm.aux_ld,
                                                     " not allowed: it must be a multiple of 8 and at least ",
                                                     gemm.m));
    }
  }
  return absl::OkStatus();
}

// Sets the workspace limit and the operands' actual alignments on `preference`, then asks cuBLASLt's heuristic for
// the best algorithm; *found is false when none exists (CUBLAS_STATUS_NOT_SUPPORTED or no result).
absl::Status ChooseAlgorithm(cublasLtHandle_t handle, cublasLtMatmulPreference_t preference, uint64_t workspace_bytes,
                             const LtGemm& gemm, cublasLtMatmulDesc_t desc, cublasLtMatrixLayout_t layout_a,
                             cublasLtMatrixLayout_t layout_b, cublasLtMatrixLayout_t layout_d,
                             cublasLtMatmulAlgo_t* algorithm, bool* found) {
  *found = false;
  KACHI_RETURN_IF_ERROR(
      CublasStatus(cublasLtMatmulPreferenceSetAttribute(preference, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES,
                                                        &workspace_bytes, sizeof(workspace_bytes)),
                   "set MAX_WORKSPACE_BYTES"));
  const uint32_t align_a = AlignmentBytes(gemm.a), align_b = AlignmentBytes(gemm.b), align_d = AlignmentBytes(gemm.d);
  const std::pair<cublasLtMatmulPreferenceAttributes_t, uint32_t> alignments[] = {
      {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, align_a},
      {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, align_b},
      {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, align_d},
      {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, align_d}};
  for (const auto& [attribute, value] : alignments) {
    KACHI_RETURN_IF_ERROR(CublasStatus(
        cublasLtMatmulPreferenceSetAttribute(preference, attribute, &value, sizeof(value)), "set MIN_ALIGNMENT"));
  }
  cublasLtMatmulHeuristicResult_t result{};
  int found_count = 0;
  const cublasStatus_t heuristic = cublasLtMatmulAlgoGetHeuristic(handle, desc, layout_a, layout_b, layout_d, layout_d,
                                                                  preference, 1, &result, &found_count);
  if (heuristic == CUBLAS_STATUS_NOT_SUPPORTED) return absl::OkStatus();
  KACHI_RETURN_IF_ERROR(CublasStatus(heuristic, "cublasLtMatmulAlgoGetHeuristic"));
  if (found_count > 0) {
    *algorithm = result.algo;
    *found = true;
  }
  return absl::OkStatus();
}

}  // namespace

MatmulContext::Plan::~Plan() {
  if (layout_d != nullptr) cublasLtMatrixLayoutDestroy(layout_d);
  if (layout_b != nullptr) cublasLtMatrixLayoutDestroy(layout_b);
  if (layout_a != nullptr) cublasLtMatrixLayoutDestroy(layout_a);
  if (desc != nullptr) cublasLtMatmulDescDestroy(desc);
}

namespace {

using ContextRegistry = std::map<std::pair<int, cudaStream_t>, std::unique_ptr<MatmulContext>>;

std::mutex& RegistryMutex() {
  static std::mutex* mutex = new std::mutex;
  return *mutex;
}

// Never destroyed: the contexts not forgotten outlive every caller, and freeing CUDA memory during exit is unsafe.
ContextRegistry& Registry() {
  static auto* registry = new ContextRegistry;
  return *registry;
}

}  // namespace

void MatmulContext::Forget(int device, cudaStream_t stream) {
  std::unique_ptr<MatmulContext> context;
  {
    std::lock_guard<std::mutex> lock(RegistryMutex());
    auto found = Registry().find({device, stream});
    if (found == Registry().end()) return;
    context = std::move(found->second);
    Registry().erase(found);
  }
  int current = 0;
  const bool switch_device = cudaGetDevice(&current) == cudaSuccess && current != device;
  if (switch_device) cudaSetDevice(device);
  context.reset();  // waits for the stream's work, then frees
  if (switch_device) cudaSetDevice(current);
}

size_t MatmulContext::RegisteredContexts() {
  std::lock_guard<std::mutex> lock(RegistryMutex());
  return Registry().size();
}

absl::StatusOr<MatmulContext*> MatmulContext::ForStream(cudaStream_t stream) {
  int device = 0;
  KACHI_RETURN_IF_ERROR(CudaStatus(cudaGetDevice(&device), "cudaGetDevice"));
  std::lock_guard<std::mutex> lock(RegistryMutex());
  ContextRegistry& registry = Registry();
  auto& slot = registry[{device, stream}];
  if (slot == nullptr) {
    absl::StatusOr<std::unique_ptr<MatmulContext>> created = Create(stream);
    if (!created.ok()) {
      registry.erase({device, stream});
      return created.status();
    }
    slot = *std::move(created);
  }
  return slot.get();
}

absl::StatusOr<std::unique_ptr<MatmulContext>> MatmulContext::Create(cudaStream_t stream) {
  int device = 0;
  KACHI_RETURN_IF_ERROR(CudaStatus(cudaGetDevice(&device), "cudaGetDevice"));
  std::unique_ptr<MatmulContext> context(new MatmulContext(stream, device));
  KACHI_RETURN_IF_ERROR(context->Initialize());
  return context;
}

absl::Status MatmulContext::Initialize() {
  KACHI_RETURN_IF_ERROR(CublasStatus(cublasLtCreate(&handle_), "cublasLtCreate"));
  KACHI_RETURN_IF_ERROR(workspace_.Reallocate(kWorkspaceBytes, base::MemoryKind::kDevice, false, "matmul workspace"));
  workspace_bytes_ = kWorkspaceBytes;
  return absl::OkStatus();
}

MatmulContext::~MatmulContext() {
  plans_.clear();
  // Work queued on the stream may still use the workspace and scratch.
  if (scratch_ != nullptr) cudaFreeAsync(scratch_, stream_);
  cudaStreamSynchronize(stream_);
  workspace_.Reset();
  if (handle_ != nullptr) cublasLtDestroy(handle_);
}

// Stream-ordered (cudaFreeAsync / cudaMallocAsync on the context's stream): no host wait, and no cudaFree, which
// waits for the whole device — including NCCL kernels of an overlapped gradient reduction that wait for peers which
// may in turn wait for this rank (a deadlock with tp > 1 and dp > 1). The scratch is used on this stream only.
absl::StatusOr<void*> MatmulContext::Scratch(size_t bytes) {
  if (bytes <= scratch_bytes_) return scratch_;
  if (scratch_ != nullptr) {
    KACHI_RETURN_IF_ERROR(CudaStatus(cudaFreeAsync(scratch_, stream_), "cudaFreeAsync(matmul scratch)"));
    scratch_ = nullptr;
    scratch_bytes_ = 0;
  }
  KACHI_RETURN_IF_ERROR(CudaStatus(cudaMallocAsync(&scratch_, bytes, stream_), "cudaMallocAsync(matmul scratch)"));
  scratch_bytes_ = bytes;
  return scratch_;
}

absl::StatusOr<MatmulContext::Plan*> MatmulContext::FindOrBuildPlan(const LtGemm& gemm,
                                                                    cublasComputeType_t compute) {
  const PlanKey key{static_cast<int>(gemm.type),
                    static_cast<int>(compute),
                    static_cast<int>(gemm.epilogue),
                    gemm.transpose_a,
                    gemm.transpose_b,
                    gemm.m,
                    gemm.n,
                    gemm.k,
                    gemm.lda,
                    gemm.ldb,
                    gemm.ldd,
                    gemm.aux_ld,
                    gemm.beta != 0.0f,
                    AlignmentBytes(gemm.a),
                    AlignmentBytes(gemm.b),
                    AlignmentBytes(gemm.d),
                    AlignmentBytes(gemm.bias),
                    AlignmentBytes(gemm.aux)};
  auto found = plans_.find(key);
  if (found != plans_.end()) return found->second.get();

  auto plan = std::make_unique<Plan>();
  KACHI_RETURN_IF_ERROR(
      CublasStatus(cublasLtMatmulDescCreate(&plan->desc, compute, CUDA_R_32F), "cublasLtMatmulDescCreate"));
  const int32_t op_a = gemm.transpose_a ? CUBLAS_OP_T : CUBLAS_OP_N;
  const int32_t op_b = gemm.transpose_b ? CUBLAS_OP_T : CUBLAS_OP_N;
  KACHI_RETURN_IF_ERROR(SetDesc(plan->desc, CUBLASLT_MATMUL_DESC_TRANSA, op_a, "set TRANSA"));
  KACHI_RETURN_IF_ERROR(SetDesc(plan->desc, CUBLASLT_MATMUL_DESC_TRANSB, op_b, "set TRANSB"));
  const uint32_t epilogue = gemm.epilogue;
  KACHI_RETURN_IF_ERROR(SetDesc(plan->desc, CUBLASLT_MATMUL_DESC_EPILOGUE, epilogue, "set EPILOGUE"));
  const int32_t element_type = gemm.type;
  if (UsesBias(gemm.epilogue)) {
    KACHI_RETURN_IF_ERROR(SetDesc(plan->desc, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, element_type, "set BIAS_DATA_TYPE"));
    // The heuristic reads the pointer's value for its alignment.
    KACHI_RETURN_IF_ERROR(SetDesc(plan->desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, gemm.bias, "set BIAS_POINTER"));
  }
  if (UsesGeluAux(gemm.epilogue)) {
    KACHI_RETURN_IF_ERROR(
        SetDesc(plan->desc, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_DATA_TYPE, element_type, "set EPILOGUE_AUX_DATA_TYPE"));
    KACHI_RETURN_IF_ERROR(
        SetDesc(plan->desc, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_LD, gemm.aux_ld, "set EPILOGUE_AUX_LD"));
    KACHI_RETURN_IF_ERROR(
        SetDesc(plan->desc, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_POINTER, gemm.aux, "set EPILOGUE_AUX_POINTER"));
  }
  const uint64_t a_rows = gemm.transpose_a ? gemm.k : gemm.m, a_cols = gemm.transpose_a ? gemm.m : gemm.k;
  const uint64_t b_rows = gemm.transpose_b ? gemm.n : gemm.k, b_cols = gemm.transpose_b ? gemm.k : gemm.n;
  KACHI_RETURN_IF_ERROR(
      CublasStatus(cublasLtMatrixLayoutCreate(&plan->layout_a, gemm.type, a_rows, a_cols, gemm.lda), "layout A"));
  KACHI_RETURN_IF_ERROR(
      CublasStatus(cublasLtMatrixLayoutCreate(&plan->layout_b, gemm.type, b_rows, b_cols, gemm.ldb), "layout B"));
  KACHI_RETURN_IF_ERROR(
      CublasStatus(cublasLtMatrixLayoutCreate(&plan->layout_d, gemm.type, gemm.m, gemm.n, gemm.ldd), "layout D"));

  cublasLtMatmulPreference_t preference = nullptr;
  KACHI_RETURN_IF_ERROR(CublasStatus(cublasLtMatmulPreferenceCreate(&preference), "preference create"));
  const absl::Status status =
      ChooseAlgorithm(handle_, preference, workspace_bytes_, gemm, plan->desc, plan->layout_a, plan->layout_b,
                      plan->layout_d, &plan->algorithm, &plan->has_algorithm);
  cublasLtMatmulPreferenceDestroy(preference);
  KACHI_RETURN_IF_ERROR(status);
  Plan* raw = plan.get();
  plans_.emplace(key, std::move(plan));
  return raw;
}

absl::StatusOr<bool> MatmulContext::Run(const LtGemm& gemm) {
  KACHI_RETURN_IF_ERROR(ValidateGemm(gemm));
  int current_device = 0;
  KACHI_RETURN_IF_ERROR(CudaStatus(cudaGetDevice(&current_device), "cudaGetDevice"));
  if (current_device != device_) {
    return absl::FailedPreconditionError(absl::StrCat("matmul context belongs to device ", device_,
                                                      " but the current device is ", current_device));
  }
  const cublasComputeType_t compute = gemm.type == CUDA_R_32F && float_mode_ == FloatMatmulMode::kTf32
                                          ? CUBLAS_COMPUTE_32F_FAST_TF32
                                          : CUBLAS_COMPUTE_32F;
  absl::StatusOr<Plan*> plan = FindOrBuildPlan(gemm, compute);
  if (!plan.ok()) return plan.status();
  if (!(*plan)->has_algorithm) return false;
  cublasLtMatmulDesc_t desc = (*plan)->desc;
  if (UsesBias(gemm.epilogue)) {
    KACHI_RETURN_IF_ERROR(SetDesc(desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, gemm.bias, "set BIAS_POINTER"));
  }
  if (UsesGeluAux(gemm.epilogue)) {
    KACHI_RETURN_IF_ERROR(
        SetDesc(desc, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_POINTER, gemm.aux, "set EPILOGUE_AUX_POINTER"));
  }
  const float alpha = 1.0f;
  const float beta = gemm.beta;
  KACHI_RETURN_IF_ERROR(
      CublasStatus(cublasLtMatmul(handle_, desc, &alpha, gemm.a, (*plan)->layout_a, gemm.b, (*plan)->layout_b, &beta,
                                  gemm.d, (*plan)->layout_d, gemm.d, (*plan)->layout_d, &(*plan)->algorithm,
                                  workspace_.data(), workspace_bytes_, stream_),
                   "cublasLtMatmul"));
  return true;
}

}  // namespace kachi::cuda
