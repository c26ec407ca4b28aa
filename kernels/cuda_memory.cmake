# Family cuda_memory (included by kernels/CMakeLists.txt in CUDA builds only): the memory-bound CUDA twins of the
# CPU reference kernels (embeddings, LayerNorm with the fused residual add, GELU, multi-tensor AdamW, global
# squared norm). Their benchmarks are built by bench/kernels/CMakeLists.txt.
add_library(kachi_cuda_memory STATIC
  ${CMAKE_CURRENT_LIST_DIR}/adamw.cu
  ${CMAKE_CURRENT_LIST_DIR}/elementwise.cu
  ${CMAKE_CURRENT_LIST_DIR}/gelu.cu
  ${CMAKE_CURRENT_LIST_DIR}/layernorm.cu
  ${CMAKE_CURRENT_LIST_DIR}/position_embedding.cu
  ${CMAKE_CURRENT_LIST_DIR}/residual_layernorm.cu
  ${CMAKE_CURRENT_LIST_DIR}/sum_of_squares.cu
  ${CMAKE_CURRENT_LIST_DIR}/token_embedding.cu)
target_link_libraries(kachi_cuda_memory PUBLIC kachi_kernels kachi_options CUDA::cudart absl::status absl::statusor
  absl::strings)
target_compile_options(kachi_cuda_memory PRIVATE $<$<COMPILE_LANGUAGE:CUDA>:--expt-relaxed-constexpr -lineinfo>)
target_link_libraries(kachi_kernels_cuda INTERFACE kachi_cuda_memory)
