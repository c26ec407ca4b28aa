# Registration helpers for the test folders that include this file (besides kachi_test / kachi_mpi_test of
# tests/CMakeLists.txt).

# kachi_script_test(NAME SCRIPT script [ARGS arg...] TIMEOUT s [PROCESSORS n] [MPI_ENV] [SKIP_77] [SERIAL]
#                   LABELS l...): `bash <this folder>/script args...` registered with ctest as NAME; MPI_ENV gives
# it the mpirun environment (KACHI_MPI_TEST_ENV), SKIP_77 makes exit 77 Skipped, SERIAL runs it alone.
function(kachi_script_test name)
  cmake_parse_arguments(ARG "MPI_ENV;SKIP_77;SERIAL" "SCRIPT;TIMEOUT;PROCESSORS" "ARGS;LABELS" ${ARGN})
  add_test(NAME ${name} COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/${ARG_SCRIPT} ${ARG_ARGS})
  set_tests_properties(${name} PROPERTIES TIMEOUT ${ARG_TIMEOUT} LABELS "${ARG_LABELS}")
  if(ARG_MPI_ENV)
    set_tests_properties(${name} PROPERTIES ENVIRONMENT "${KACHI_MPI_TEST_ENV}")
  endif()
  if(ARG_PROCESSORS)
    set_tests_properties(${name} PROPERTIES PROCESSORS ${ARG_PROCESSORS})
  endif()
  if(ARG_SKIP_77)
    set_tests_properties(${name} PROPERTIES SKIP_RETURN_CODE 77)
  endif()
  if(ARG_SERIAL)
    set_tests_properties(${name} PROPERTIES RUN_SERIAL TRUE)
  endif()
endfunction()

# kachi_nccl_np2_test(TARGET LABELS l...): the multi-rank gtest binary TARGET run as TARGET_np2 under mpirun -np 2,
# each rank with its own NCCL_HOSTID so that both may share one GPU (correctness only, never timings); labels
# mpi and gpu besides LABELS, exit 77 = Skipped.
function(kachi_nccl_np2_test target)
  cmake_parse_arguments(ARG "" "" "LABELS" ${ARGN})
  add_test(NAME ${target}_np2
    COMMAND ${KACHI_MPIRUN} -np 2 sh -c "NCCL_HOSTID=h\$OMPI_COMM_WORLD_RANK exec \"\$@\"" _
      $<TARGET_FILE:${target}>)
  set_tests_properties(${target}_np2 PROPERTIES TIMEOUT 600 ENVIRONMENT "${KACHI_MPI_TEST_ENV}" PROCESSORS 2
    SKIP_RETURN_CODE 77 LABELS "mpi;${ARG_LABELS};gpu")
endfunction()
