# Family cuda_attention (included by kernels/CMakeLists.txt in CUDA builds only): flash attention forward and
# backward (kachi_cuda_attention), its benchmark library for `kachi bench kernels` (kachi_bench_cuda_attention) and a
# stand-alone benchmark program that measures its own ceilings and the PyTorch SDPA peer (bench_cuda_attention).
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

add_library(kachi_bench_cuda_attention STATIC ${PROJECT_SOURCE_DIR}/bench/kernels/cuda_attention_bench.cu)
target_link_libraries(kachi_bench_cuda_attention PUBLIC kachi_cuda_attention CUDA::cudart absl::status
  absl::statusor absl::strings absl::str_format)
# The SDPA peer script is found through the source tree (overridable with KACHI_SDPA_SCRIPT at run time).
target_compile_definitions(kachi_bench_cuda_attention PRIVATE
  KACHI_SDPA_SCRIPT_DEFAULT="${PROJECT_SOURCE_DIR}/bench/kernels/sdpa_reference.py")

add_executable(bench_cuda_attention ${PROJECT_SOURCE_DIR}/bench/kernels/cuda_attention_bench_main.cu)
target_link_libraries(bench_cuda_attention PRIVATE kachi_bench_cuda_attention CUDA::cublas)
