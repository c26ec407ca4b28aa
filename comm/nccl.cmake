# The NCCL backend, included at the end of comm/CMakeLists.txt. CUDA builds compile the backend and link NCCL and
# the CUDA runtime; CPU builds compile nccl_unavailable.cc, whose factory reports Unavailable.
if(KACHI_CUDA)
  target_sources(kachi_comm PRIVATE
    ${CMAKE_CURRENT_LIST_DIR}/cuda_event_pool.cc
    ${CMAKE_CURRENT_LIST_DIR}/nccl_status.cc
    ${CMAKE_CURRENT_LIST_DIR}/nccl_communicator.cc
  )
  target_link_libraries(kachi_comm PUBLIC kachi_nccl)
else()
  target_sources(kachi_comm PRIVATE ${CMAKE_CURRENT_LIST_DIR}/nccl_unavailable.cc)
endif()
