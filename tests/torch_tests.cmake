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
