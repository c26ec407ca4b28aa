# cuda_matmul family (CUDA builds only; included by kernels/CMakeLists.txt): cuBLASLt matmuls with fused epilogues
# and the softmax cross-entropy, their benchmark library and the standalone benchmark executable.
add_library(kachi_cuda_matmul STATIC
  ${CMAKE_CURRENT_LIST_DIR}/cross_entropy.cu
  ${CMAKE_CURRENT_LIST_DIR}/matmul.cu
  ${CMAKE_CURRENT_LIST_DIR}/matmul_context.cu
  ${CMAKE_CURRENT_LIST_DIR}/matmul_epilogue_kernels.cu)
target_link_libraries(kachi_cuda_matmul PUBLIC kachi_kernels kachi_options CUDA::cudart CUDA::cublasLt absl::status
  absl::statusor absl::strings)
target_compile_options(kachi_cuda_matmul PRIVATE $<$<COMPILE_LANGUAGE:CUDA>:--expt-relaxed-constexpr>)
target_link_libraries(kachi_kernels_cuda INTERFACE kachi_cuda_matmul)


# BenchMatmulKernels (bench/kernels/kernel_bench.h) for `kachi bench kernels`.
add_library(kachi_bench_cuda_matmul STATIC ${CMAKE_CURRENT_LIST_DIR}/../bench/kernels/cuda_matmul_bench.cu)
target_link_libraries(kachi_bench_cuda_matmul PUBLIC kachi_cuda_matmul)

# Standalone: measures its own ceilings (8192^3 bf16 GEMM, large device copy) and prints the family's table.
add_executable(bench_cuda_matmul ${CMAKE_CURRENT_LIST_DIR}/../bench/kernels/cuda_matmul_bench_main.cu)
target_link_libraries(bench_cuda_matmul PRIVATE kachi_bench_cuda_matmul)
