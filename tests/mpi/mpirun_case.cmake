# A command line under mpirun that must fail with one line of ours:
#   cmake -DEXPECT_EXIT=<code> -DSTDERR_REGEX=<re> -P mpirun_case.cmake -- mpirun ... <program> <arg>...
# mpirun adds its own notice about the failed ranks to stderr, so instead of "exactly one
# line" (cli_case.cmake) this requires exactly one line starting "ffn-parity" (rank 0's),
# matching the regex, and an empty stdout.
cmake_minimum_required(VERSION 3.25)
include(${CMAKE_CURRENT_LIST_DIR}/../script_args.cmake)
args_after_double_dash(command)
execute_process(COMMAND ${command} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
string(JOIN " " shown ${command})
if(NOT rc STREQUAL EXPECT_EXIT)
  message(FATAL_ERROR "${shown}: exit ${rc}, expected ${EXPECT_EXIT}\n${out}\n${err}")
endif()
# A ';' would split the CMake list of matches: count with it replaced, match with it back.
string(REPLACE ";" "<semicolon>" safe "${err}")
string(REGEX MATCHALL "(^|\n)ffn-parity[^\n]*" ours "${safe}")
list(LENGTH ours n)
if(NOT n EQUAL 1)
  message(FATAL_ERROR "${shown}: ${n} error lines from ffn-parity, expected one:\n${err}")
endif()
string(STRIP "${ours}" line)
string(REPLACE "<semicolon>" ";" line "${line}")
if(NOT line MATCHES "${STDERR_REGEX}")
  message(FATAL_ERROR "${shown}: '${line}' does not match '${STDERR_REGEX}'")
endif()
if(NOT out STREQUAL "")
  message(FATAL_ERROR "${shown}: stdout is not empty:\n${out}")
endif()
