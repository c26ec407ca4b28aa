# cuda_matmul family (CUDA builds only; included by kernels/CMakeLists.txt): cuBLASLt matmuls with fused epilogues
# and the softmax cross-entropy. Their benchmarks are built by bench/kernels/CMakeLists.txt.
add_library(kachi_cuda_matmul STATIC
  ${CMAKE_CURRENT_LIST_DIR}/cross_entropy.cu
  ${CMAKE_CURRENT_LIST_DIR}/matmul.cu
  ${CMAKE_CURRENT_LIST_DIR}/matmul_context.cu
  ${CMAKE_CURRENT_LIST_DIR}/matmul_epilogue_kernels.cu)
target_link_libraries(kachi_cuda_matmul PUBLIC kachi_kernels kachi_options CUDA::cudart CUDA::cublasLt absl::status
  absl::statusor absl::strings)
target_compile_options(kachi_cuda_matmul PRIVATE $<$<COMPILE_LANGUAGE:CUDA>:--expt-relaxed-constexpr>)
target_link_libraries(kachi_kernels_cuda INTERFACE kachi_cuda_matmul)
