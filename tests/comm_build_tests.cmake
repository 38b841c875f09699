# --comm nccl and --comm mpi where they cannot run: one line, exit 2.
if(FFN_PARITY_WITH_NCCL)
  # No device visible (CUDA_VISIBLE_DEVICES empty hides a GPU where there is one; without a
  # driver, as in CI, there is none anyway).
  add_test(NAME cli.nccl_no_device
           COMMAND ${CMAKE_COMMAND} -DEXPECT_EXIT=3
                   "-DSTDERR_REGEX=^ffn-parity run: error: --comm nccl: no CUDA device"
                   -P ${CMAKE_CURRENT_SOURCE_DIR}/cli_case.cmake
                   -- ${CMAKE_COMMAND} -E env CUDA_VISIBLE_DEVICES= $<TARGET_FILE:ffn-parity> run --comm nccl --shape tiny)
  add_test(NAME cli.golden_nccl_no_device
           COMMAND ${CMAKE_COMMAND} -DEXPECT_EXIT=3
                   "-DSTDERR_REGEX=^ffn-parity golden check: error: --comm nccl: no CUDA device"
                   -P ${CMAKE_CURRENT_SOURCE_DIR}/cli_case.cmake
                   -- ${CMAKE_COMMAND} -E env CUDA_VISIBLE_DEVICES= $<TARGET_FILE:ffn-parity> golden check --comm nccl
                      ${PROJECT_SOURCE_DIR}/goldens/tiny.h5)
  set_tests_properties(cli.nccl_no_device cli.golden_nccl_no_device PROPERTIES LABELS unit)
else()
  ffn_cli_error(nccl_not_built "--comm nccl: this build has no NCCL " run --comm nccl --shape tiny)
endif()
if(NOT FFN_PARITY_WITH_MPI)
  ffn_cli_error(mpi_not_built "--comm mpi: this build has no MPI " run --comm mpi --shape tiny)
endif()
if(FFN_PARITY_WITH_NCCL AND FFN_PARITY_WITH_MPI)
  # Under a launcher: every process fails alike, rank 0 alone says so.
  add_test(NAME mpi.nccl_no_device
           COMMAND ${CMAKE_COMMAND} -DEXPECT_EXIT=3 "-DSTDERR_REGEX=^ffn-parity run: error: --comm nccl: no CUDA device"
                   -P ${CMAKE_CURRENT_SOURCE_DIR}/mpi/mpirun_case.cmake
                   -- ${CMAKE_COMMAND} -E env CUDA_VISIBLE_DEVICES= ${ffn_mpirun} ${MPIEXEC_NUMPROC_FLAG} 2
                      $<TARGET_FILE:ffn-parity> run --comm nccl --shape tiny)
  set_tests_properties(mpi.nccl_no_device PROPERTIES LABELS mpi PROCESSORS 2)
endif()
