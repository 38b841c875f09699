# Issue 19, the parts that need no GPU: the safetensors writer behind `run --dump-inputs`,
# ci/torch-parity.py (PyTorch's own computation of the stack's layers against the harness's
# dumped outputs) and ci/torch-bench.py on CPU at tiny dims. The Python checks need
# /usr/bin/python3 with torch (Debian python3-torch) and are reported skipped without it.
ffn_unit_test(test_safetensors_writer ffn_inputs)
ffn_python_test(torch.parity_cpu torch_parity_check.py $<TARGET_FILE:ffn-parity>
                ${PROJECT_SOURCE_DIR}/ci/torch-parity.py ${CMAKE_CURRENT_BINARY_DIR}/torch_parity)
# --dump-inputs refuses an unwritable directory before any case runs.
ffn_cli_error(dump_inputs_is_file "--dump-inputs: ${ffn_cli_work}/a-file: exists and is not a directory$"
              run --shape tiny --dump-inputs ${ffn_cli_work}/a-file)
ffn_cli_error(dump_inputs_under_file "--dump-inputs: ${ffn_cli_work}/a-file/sub: "
              run --shape tiny --dump-inputs ${ffn_cli_work}/a-file/sub)
ffn_python_test(torch.bench_cpu torch_bench_check.py ${PROJECT_SOURCE_DIR}/ci/torch-bench.py
                ${CMAKE_CURRENT_BINARY_DIR}/torch_bench)
# ci/device-check.sh's own flow without a GPU (--cpu-smoke): the parts that run on CPU (the
# CPU backend's torch-parity, torch-bench, the nightly job on MPI ranks) at tiny dims, each under
# its time box, the table last; then with a budget too small for any part: every part NO-TIME,
# exit 1. The GPU parts cannot run here (bash -n checks their syntax).
if(FFN_PARITY_WITH_MPI)
  add_test(NAME device_check.syntax COMMAND bash -n ${PROJECT_SOURCE_DIR}/ci/device-check.sh)
  add_test(NAME device_check.cpu_smoke
           COMMAND ${CMAKE_COMMAND} -E env OUT_DIR=${CMAKE_CURRENT_BINARY_DIR}/device_check_smoke
                   FFN_PARITY=$<TARGET_FILE:ffn-parity> BUDGET_S=300
                   bash ${PROJECT_SOURCE_DIR}/ci/device-check.sh --cpu-smoke)
  set_tests_properties(device_check.cpu_smoke PROPERTIES LABELS mpi PROCESSORS 2
                       FAIL_REGULAR_EXPRESSION "FAIL|TIMEOUT|NO-TIME")
  add_test(NAME device_check.out_of_time
           COMMAND bash -c "out=$(OUT_DIR='${CMAKE_CURRENT_BINARY_DIR}/device_check_no_time' BUDGET_S=12 \
                            FFN_PARITY='$<TARGET_FILE:ffn-parity>' '${PROJECT_SOURCE_DIR}/ci/device-check.sh' --cpu-smoke); \
                            rc=$?; echo \"$out\"; [ $rc = 1 ] && grep -q '^nightly  *NO-TIME' <<<\"$out\"")
  set_tests_properties(device_check.syntax device_check.out_of_time PROPERTIES LABELS unit)
endif()
