# Family cuda_attention (included by kernels/CMakeLists.txt in CUDA builds only): flash attention forward and
# backward (kachi_cuda_attention). Its benchmarks are built by bench/kernels/CMakeLists.txt.
add_library(kachi_cuda_attention STATIC
  ${CMAKE_CURRENT_SOURCE_DIR}/attention_forward.cu
  ${CMAKE_CURRENT_SOURCE_DIR}/attention_backward.cu
  ${CMAKE_CURRENT_SOURCE_DIR}/attention_fp32.cu)
target_link_libraries(kachi_cuda_attention PUBLIC kachi_kernels kachi_options CUDA::cudart absl::status
  absl::strings)
# Line info for profilers; the resource report (registers, spills) with -DKACHI_ATTENTION_PTXAS_VERBOSE=ON.
target_compile_options(kachi_cuda_attention PRIVATE $<$<COMPILE_LANGUAGE:CUDA>:-lineinfo>)
if(KACHI_ATTENTION_PTXAS_VERBOSE)
  target_compile_options(kachi_cuda_attention PRIVATE $<$<COMPILE_LANGUAGE:CUDA>:-Xptxas=-v>)
endif()
target_link_libraries(kachi_kernels_cuda INTERFACE kachi_cuda_attention)
