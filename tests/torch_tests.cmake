# Issue 19, the parts that need no GPU: the safetensors writer behind `run --dump-inputs`,
# ci/torch-parity.py (PyTorch's own computation of the stack's layers against the harness's
# dumped outputs) and ci/torch-bench.py on CPU at tiny dims. The Python checks need
# /usr/bin/python3 with torch (Debian python3-torch) and are reported skipped without it.
ffn_unit_test(test_safetensors_writer ffn_inputs)
