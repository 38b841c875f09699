# Runs one command line of the CLI and checks how it ended; cli_tests.cmake registers the cases.
#   cmake -DEXPECT_EXIT=<code> [-DSTDERR_REGEX=<re>] [-DSTDOUT_REGEX=<re>] [-DSTDOUT_JSON=ON]
#         -P cli_case.cmake -- <program> [<arg>...]
# STDERR_REGEX  stderr is exactly one line and matches it; without it stderr must be empty.
# STDOUT_REGEX  stdout, without its final newline, matches it.
# SKIP_IF_DEVICE  a program that exits 0 when a CUDA device is usable: then "SKIP:".
# CHECK_FILE, FILE_REGEX  the command wrote CHECK_FILE (removed before it runs), which matches FILE_REGEX.
# STDOUT_JSON   stdout parses as JSON with "failed" == 0, checked by /usr/bin/python3 (without
#               one the script prints "SKIP:" and the test counts as skipped).
cmake_minimum_required(VERSION 3.25)

include(${CMAKE_CURRENT_LIST_DIR}/script_args.cmake)
args_after_double_dash(command)
if(NOT command OR NOT DEFINED EXPECT_EXIT)
  message(FATAL_ERROR
          "usage: cmake -DEXPECT_EXIT=<code> [...] -P cli_case.cmake -- <program> [<arg>...]")
endif()

if(DEFINED SKIP_IF_DEVICE)
  execute_process(COMMAND ${SKIP_IF_DEVICE} RESULT_VARIABLE has_device OUTPUT_QUIET ERROR_QUIET)
  if(has_device EQUAL 0)
    message("SKIP: a CUDA device is present")
    return()
  endif()
endif()

if(DEFINED CHECK_FILE)
  file(REMOVE "${CHECK_FILE}")
endif()
set(pipeline COMMAND ${command})
if(STDOUT_JSON)
  if(NOT EXISTS /usr/bin/python3)
    message("SKIP: no /usr/bin/python3 to check the JSON output")
    return()
  endif()
  # Newlines, not semicolons, between the statements: a semicolon would split the CMake list.
  list(APPEND pipeline COMMAND /usr/bin/python3 -c
       "import json, sys\ndoc = json.load(sys.stdin)\nassert doc['failed'] == 0, doc['failed']")
endif()
execute_process(${pipeline} RESULTS_VARIABLE exit_codes OUTPUT_VARIABLE out ERROR_VARIABLE err)
list(GET exit_codes 0 exit_code)

string(JOIN " " shown ${command})
function(fail reason)
  message(FATAL_ERROR "${shown}: ${reason}\n--- exit status ${exit_codes}\n"
                      "--- stdout:\n${out}\n--- stderr:\n${err}")
endfunction()

if(NOT exit_code STREQUAL EXPECT_EXIT)
  fail("exit status ${exit_code}, expected ${EXPECT_EXIT}")
endif()
if(STDOUT_JSON)
  list(GET exit_codes 1 json_exit_code)
  if(NOT json_exit_code STREQUAL "0")
    fail("stdout is not JSON with \"failed\" == 0")
  endif()
endif()
if(DEFINED STDERR_REGEX)
  if(NOT err MATCHES "^[^\n]*\n$")
    fail("stderr is not exactly one line")
  endif()
  string(REGEX REPLACE "\n$" "" line "${err}")
  if(NOT line MATCHES "${STDERR_REGEX}")
    fail("stderr does not match '${STDERR_REGEX}'")
  endif()
elseif(NOT err STREQUAL "")
  fail("stderr is not empty")
endif()
if(DEFINED STDOUT_REGEX)
  string(REGEX REPLACE "\n$" "" text "${out}")
  if(NOT text MATCHES "${STDOUT_REGEX}")
    fail("stdout does not match '${STDOUT_REGEX}'")
  endif()
endif()
if(DEFINED CHECK_FILE)
  if(NOT EXISTS "${CHECK_FILE}")
    fail("${CHECK_FILE} was not written")
  endif()
  file(READ "${CHECK_FILE}" written)
  if(NOT written MATCHES "${FILE_REGEX}")
    fail("${CHECK_FILE} does not match '${FILE_REGEX}':\n${written}")
  endif()
endif()
