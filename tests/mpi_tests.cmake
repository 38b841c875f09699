# Label `mpi`: TP ranks as processes under mpirun (Open MPI: as root --allow-run-as-root,
# more ranks than cores --oversubscribe). Registered when the build has MPI.
if(NOT FFN_PARITY_WITH_MPI)
  return()
endif()
set(ffn_mpirun ${MPIEXEC_EXECUTABLE} --allow-run-as-root --oversubscribe --bind-to none)

# The communicator alone: MpiCommunicator against SimulatedCommunicator, every model and
# wire dtype, results and observed roundings bit for bit; 3 ranks cut buffers unevenly.
add_executable(mpi_communicator_check mpi/mpi_communicator_check.cpp)
target_link_libraries(mpi_communicator_check PRIVATE ffn_launch fmt::fmt)
foreach(np 2 3 4)
  add_test(NAME mpi.communicator_np${np}
           COMMAND ${ffn_mpirun} ${MPIEXEC_NUMPROC_FLAG} ${np} $<TARGET_FILE:mpi_communicator_check>)
  set_tests_properties(mpi.communicator_np${np} PROPERTIES LABELS mpi PROCESSORS 2)
endforeach()

# The whole sweep: `run --comm mpi` under mpirun -np N writes the same output bits, case by
# case, as the in-process run with the simulated communicator.
function(ffn_mpi_parity_test name np)
  add_test(NAME mpi.${name}
           COMMAND ${CMAKE_COMMAND} -DFFN=$<TARGET_FILE:ffn-parity> -DNP=${np}
                   "-DMPIRUN=${ffn_mpirun}" -DWORK=${CMAKE_CURRENT_BINARY_DIR}/mpi.${name}
                   -P ${CMAKE_CURRENT_SOURCE_DIR}/mpi/compare_with_simulated.cmake -- ${ARGN})
  set_tests_properties(mpi.${name} PROPERTIES LABELS mpi PROCESSORS 2)
endfunction()
ffn_mpi_parity_test(tiny_np2 2 --shape tiny --tokens 4 --precision bf16,fp16,fp8-dynamic
                    --allreduce ring,oneshot,exact --seed 3)
ffn_mpi_parity_test(tiny_np4 4 --shape tiny --tokens 4 --precision bf16,fp8-dynamic
                    --allreduce ring,oneshot,exact --seed 3)
ffn_mpi_parity_test(small_int8_np2 2 --shape small --tokens 2 --precision int8,fp8-block
                    --allreduce ring --seed 5)
# A gated MLP: each rank keeps its gate rows and its up rows of the fused gate_up weight.
ffn_mpi_parity_test(gated_np2 2 --dims 64,256 --activation swiglu --no-bias --tokens 4
                    --precision bf16,fp8-dynamic --allreduce ring --seed 3)

# Error paths: one line from rank 0, exit status 2 from mpirun.
function(ffn_mpi_error_test name np regex)
  add_test(NAME mpi.${name}
           COMMAND ${CMAKE_COMMAND} -DEXPECT_EXIT=2 "-DSTDERR_REGEX=${regex}"
                   -P ${CMAKE_CURRENT_SOURCE_DIR}/mpi/mpirun_case.cmake
                   -- ${ffn_mpirun} ${MPIEXEC_NUMPROC_FLAG} ${np} $<TARGET_FILE:ffn-parity> ${ARGN})
  set_tests_properties(mpi.${name} PROPERTIES LABELS mpi PROCESSORS 2)
endfunction()
ffn_mpi_error_test(tp_not_world_size 2
                   "^ffn-parity run: error: --tp: 4 is not the world size 2: --comm mpi runs one TP rank per process"
                   run --comm mpi --shape tiny --tp 2,4)
ffn_mpi_error_test(scale_blocks_cut 4
                   "^ffn-parity run: error: nothing to run: every combination is refused \\(fp8-block at tp 4: --precision fp8-block: proj_out \\(column-parallel, allgather path\\) shards its output dimension 256 over tp 4 into 64 per rank, not a multiple of the 128-element scale block. the loader refuses it\\)$"
                   run --comm mpi --shape small --precision fp8-block)

# Started by hand, or by a launcher whose environment is broken or not MPI's.
ffn_cli_error(mpi_not_launched
              "--comm mpi: not started by a launcher \\(no OMPI_COMM_WORLD_RANK, RANK or SLURM_PROCID"
              run --comm mpi --shape tiny)
add_test(NAME mpi.launcher_env_incomplete
         COMMAND ${CMAKE_COMMAND} -DEXPECT_EXIT=2
                 "-DSTDERR_REGEX=^ffn-parity run: error: --comm mpi: torchrun launcher environment: RANK is set but LOCAL_RANK is not$"
                 -P ${CMAKE_CURRENT_SOURCE_DIR}/cli_case.cmake
                 -- ${CMAKE_COMMAND} -E env RANK=0 WORLD_SIZE=2 $<TARGET_FILE:ffn-parity> run --comm mpi --shape tiny)
add_test(NAME mpi.launcher_world_not_mpi
         COMMAND ${CMAKE_COMMAND} -DEXPECT_EXIT=2
                 "-DSTDERR_REGEX=^ffn-parity run: error: --comm mpi: MPI: the MPI world \\(rank 0 of 1\\) is not the one the torchrun launcher announced \\(rank 1 of 2\\)"
                 -P ${CMAKE_CURRENT_SOURCE_DIR}/cli_case.cmake
                 -- ${CMAKE_COMMAND} -E env RANK=1 WORLD_SIZE=2 LOCAL_RANK=0 $<TARGET_FILE:ffn-parity> run --comm mpi --shape tiny)
set_tests_properties(mpi.launcher_env_incomplete mpi.launcher_world_not_mpi PROPERTIES LABELS mpi)
ffn_cli_error(mpi_no_frames "--frames: the rollout runs every rank in one process; it cannot be combined with --comm mpi$"
              run --comm mpi --shape tiny --frames)

# The nightly multi-GPU job's script, on CPU ranks (COMM=mpi) with a tiny shape.
if(EXISTS /usr/bin/python3)
  string(JOIN " " ffn_mpirun_line ${ffn_mpirun})
  # Two tests: the two-rank runs hold both cores; every model of the catalog, one rank at a
  # time, is the long part and holds one, so ctest runs other tests beside it.
  foreach(part tiny every)
    add_test(NAME mpi.nightly_script_${part}
             COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/mpi/nightly_check.py
                     ${PROJECT_SOURCE_DIR}/ci/nightly-multi-gpu.sh $<TARGET_FILE:ffn-parity> "${ffn_mpirun_line}"
                     ${CMAKE_CURRENT_BINARY_DIR}/mpi.nightly-${part} ${PROJECT_SOURCE_DIR}/goldens/tiny.h5 ${part})
  endforeach()
  set_tests_properties(mpi.nightly_script_tiny PROPERTIES LABELS mpi PROCESSORS 2)
  set_tests_properties(mpi.nightly_script_every PROPERTIES LABELS mpi)
endif()
