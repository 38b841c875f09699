# The sweep under mpirun against the same sweep in one process, output bits compared:
#   cmake -DFFN=<ffn-parity> -DNP=<n> -DMPIRUN=<mpirun and its options> -DWORK=<dir>
#         -P compare_with_simulated.cmake -- <run arguments>
# Both runs dump every case's allgather and sharded outputs (run --dump-outputs); each file
# of one must be byte-identical to the same file of the other, and neither run may have a
# case the other lacks. One differing bit in one element fails the test.
cmake_minimum_required(VERSION 3.25)
include(${CMAKE_CURRENT_LIST_DIR}/../script_args.cmake)
args_after_double_dash(args)
foreach(var FFN NP MPIRUN WORK)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "compare_with_simulated.cmake: -D${var}= is missing")
  endif()
endforeach()

file(REMOVE_RECURSE ${WORK})
execute_process(COMMAND ${FFN} run ${args} --tp ${NP} --dump-outputs ${WORK}/simulated
                RESULT_VARIABLE rc OUTPUT_VARIABLE simulated_out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "in-process run failed (exit ${rc}):\n${simulated_out}\n${err}")
endif()
string(TIMESTAMP t0 "%s")
execute_process(COMMAND ${MPIRUN} -np ${NP} ${FFN} run ${args} --comm mpi --dump-outputs ${WORK}/mpi
                RESULT_VARIABLE rc OUTPUT_VARIABLE mpi_out ERROR_VARIABLE err)
string(TIMESTAMP t1 "%s")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "mpirun -np ${NP} run --comm mpi failed (exit ${rc}):\n${mpi_out}\n${err}")
endif()
math(EXPR seconds "${t1} - ${t0}")
message("mpirun -np ${NP}: ${mpi_out}(about ${seconds} s wall)")

file(GLOB simulated RELATIVE ${WORK}/simulated ${WORK}/simulated/*.f32)
file(GLOB mpi RELATIVE ${WORK}/mpi ${WORK}/mpi/*.f32)
list(LENGTH simulated n)
if(n EQUAL 0)
  message(FATAL_ERROR "the in-process run dumped no outputs")
endif()
if(NOT simulated STREQUAL mpi)
  message(FATAL_ERROR "the runs dumped different cases:\n in-process: ${simulated}\n mpi: ${mpi}")
endif()
set(differing)
foreach(f ${simulated})
  execute_process(COMMAND ${CMAKE_COMMAND} -E compare_files ${WORK}/simulated/${f} ${WORK}/mpi/${f}
                  RESULT_VARIABLE same)
  if(NOT same EQUAL 0)
    list(APPEND differing ${f})
  endif()
endforeach()
if(differing)
  message(FATAL_ERROR "outputs differ between mpirun -np ${NP} and the in-process run: ${differing}")
endif()
message("${n} output tensors bit-identical between mpirun -np ${NP} and the in-process run")
