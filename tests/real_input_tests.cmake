# Real inputs through the CLI: `run` and `golden` on safetensors checkpoints and captured
# activations that make_checkpoints writes at test time (fixture cli.real_checkpoints), every
# malformed file refused with one line; and the PyTorch capture round trip.

add_executable(make_checkpoints make_checkpoints.cpp)
target_link_libraries(make_checkpoints PRIVATE ffn_inputs)

set(ffn_ckpt ${CMAKE_CURRENT_BINARY_DIR}/checkpoints)
add_test(NAME cli.real_checkpoints COMMAND make_checkpoints ${ffn_ckpt})
set_tests_properties(cli.real_checkpoints PROPERTIES LABELS unit FIXTURES_SETUP real_checkpoints)

function(ffn_real_cli_test name)
  ffn_cli_test(${name} ${ARGN})
  set_tests_properties(cli.${name} PROPERTIES FIXTURES_REQUIRED real_checkpoints)
endfunction()

# ffn_real_cli_error(<name> <regex> <arg>...): `run` refuses with exit 2 and one line.
function(ffn_real_cli_error name regex)
  ffn_real_cli_test(${name} EXIT 2 STDERR "^ffn-parity run: error: ${regex}" ARGS run ${ARGN})
endfunction()

set(ffn_b1 --weights ${ffn_ckpt}/bf16.safetensors --layer 1)
ffn_real_cli_test(real_bf16 EXIT 0 STDOUT "run: shape b1-video \\(dim 64, inner 256\\), 4 tokens.*bf16.* PASS.*3 passed, 0 failed$"
                  ARGS run ${ffn_b1} --tp 1,2,4 --tokens 4)
ffn_real_cli_test(real_bf16_and_fp32 EXIT 0 STDOUT "fp32 .*4 passed, 0 failed$"
                  ARGS run ${ffn_b1} --tp 1,2 --tokens 4 --precision bf16,fp32)
ffn_real_cli_test(real_audio EXIT 0 STDOUT "shape b1-audio .*2 passed, 0 failed$"
                  ARGS run ${ffn_b1} --stream audio --tp 1,2 --tokens 4)
ffn_real_cli_test(real_sharded_index EXIT 0 STDOUT "shape b1-video .*2 passed, 0 failed$"
                  ARGS run --weights ${ffn_ckpt}/sharded/model.safetensors.index.json --layer 1 --tp 1,2 --tokens 4)
ffn_real_cli_test(real_sharded_directory EXIT 0 STDOUT "shape b0-video .*2 passed, 0 failed$"
                  ARGS run --weights ${ffn_ckpt}/sharded --layer 0 --tp 1,2 --tokens 4)
foreach(scheme fp8-static fp8-dynamic fp8-dynamic-tensor fp8-block int8)
  ffn_real_cli_test(real_${scheme} EXIT 0 STDOUT " ${scheme} .*2 passed, 0 failed$"
                    ARGS run --weights ${ffn_ckpt}/${scheme}.safetensors --layer 1 --tp 1,2 --tokens 4)
endforeach()
ffn_real_cli_test(real_activations EXIT 0 STDOUT "8 tokens.*# vs captured y.*3 passed, 0 failed$"
                  ARGS run ${ffn_b1} --activations ${ffn_ckpt}/capture.h5 --tp 1,2,4)
ffn_real_cli_test(real_activations_json EXIT 0 JSON
                  ARGS run ${ffn_b1} --activations ${ffn_ckpt}/capture.h5 --tp 2 --tokens 3 --format json)

ffn_real_cli_error(real_tp_not_dividing "--tp: 3 does not divide the hidden size 64 of shape b1-video$"
                   ${ffn_b1} --tp 3 --tokens 4)
ffn_real_cli_error(real_precision_not_stored "--precision fp16: the checkpoint holds BF16 weights, which runs as stored in bf16 or fp32 only$"
                   ${ffn_b1} --precision fp16)
ffn_real_cli_error(real_fp8_precision_not_stored "--precision bf16: the checkpoint holds fp8-static \\(F8_E4M3 weight \\[256, 64\\], weight_scale \\[\\], input_scale \\[\\]\\)"
                   --weights ${ffn_ckpt}/fp8-static.safetensors --layer 1 --precision bf16)
ffn_real_cli_error(real_missing_layer ".*/bf16.safetensors: no proj_in.weight tensor 'transformer_blocks.7.ff.net.0.proj.weight'; no tensor under transformer_blocks.7.; it holds: transformer_blocks.0.ff"
                   --weights ${ffn_ckpt}/bf16.safetensors --layer 7)
ffn_real_cli_error(real_unknown_fp8_layout ".*/fp8-unknown.safetensors: proj_in.weight 'transformer_blocks.1.ff.net.0.proj': F8_E4M3 weight \\[256, 64\\], weight_scale \\[256, 1\\], input_scale \\[\\]: no quantization scheme"
                   --weights ${ffn_ckpt}/fp8-unknown.safetensors --layer 1)
ffn_real_cli_error(real_no_layer "--weights: --layer N is required" --weights ${ffn_ckpt}/bf16.safetensors)
ffn_real_cli_error(real_layer_without_weights "--layer requires --weights" --layer 1)
ffn_real_cli_error(real_shape_with_weights "--shape excludes --weights$" ${ffn_b1} --shape tiny)
ffn_real_cli_error(real_bad_tensor_map "--tensor-map: 'foo' is not ROLE=NAME$" ${ffn_b1} --tensor-map foo)
ffn_real_cli_error(real_activations_missing_block ".*/capture.h5: /video/block_0/x: missing; the file holds video blocks: block_1$"
                   --weights ${ffn_ckpt}/bf16.safetensors --layer 0 --activations ${ffn_ckpt}/capture.h5)
ffn_real_cli_error(real_activations_too_few_tokens ".*/capture.h5: /video/block_1/x: holds 8 tokens, fewer than --tokens 99$"
                   ${ffn_b1} --activations ${ffn_ckpt}/capture.h5 --tokens 99)
ffn_real_cli_error(real_activations_off_grid ".*/capture_fp32.h5: /video/block_1/x: value .* is not on the bf16 grid"
                   ${ffn_b1} --activations ${ffn_ckpt}/capture_fp32.h5 --tp 1)
ffn_real_cli_error(real_missing_shard ".*/sharded_broken/model-00002-of-00002.safetensors: cannot open: No such file"
                   --weights ${ffn_ckpt}/sharded_broken --layer 1)
ffn_real_cli_error(real_bad_index ".*/bad.safetensors.index.json: index is not valid JSON"
                   --weights ${ffn_ckpt}/bad.safetensors.index.json --layer 1)
foreach(bad IN ITEMS
        "empty|short header: 0 bytes"
        "short|short header: 5 bytes"
        "header_beyond|header length 1000 runs beyond the end of the file"
        "bad_json|header is not valid JSON"
        "offsets_outside|tensor 'w': data_offsets \\[0, 4\\] lie outside the 2-byte data section"
        "overlap|tensors 'a' \\[0, 4\\] and 'b' \\[2, 6\\] overlap"
        "size_mismatch|tensor 'w': BF16 \\[3\\] needs 6 bytes but data_offsets \\[0, 4\\] hold 4"
        "unknown_dtype|tensor 'w': unknown dtype 'BOOL'")
  string(REPLACE "|" ";" parts "${bad}")
  list(GET parts 0 file)
  list(GET parts 1 reason)
  ffn_real_cli_error(real_malformed_${file} ".*/${file}.safetensors: ${reason}"
                     --weights ${ffn_ckpt}/${file}.safetensors --layer 0)
endforeach()

# A golden from real inputs: provenance instead of tensors, checked against the files.
set(ffn_real_golden ${ffn_ckpt}/real-golden.h5)
ffn_real_cli_test(real_golden_bless EXIT 0 STDOUT "^blessed 2 cases \\(real inputs\\) into "
                  ARGS golden bless ${ffn_b1} --activations ${ffn_ckpt}/capture.h5 --tp 1,2 -o ${ffn_real_golden} --force)
set_tests_properties(cli.real_golden_bless PROPERTIES FIXTURES_SETUP real_golden)
ffn_real_cli_test(real_golden_check EXIT 0 STDOUT "b1-video/t8/tp2/bf16/ring/s0 .* PASS.2 passed, 0 failed$"
                  ARGS golden check ${ffn_real_golden})
ffn_real_cli_test(real_golden_info EXIT 0
                  STDOUT "real inputs, shape b1-video.*proj_in.weight +transformer_blocks.1.ff.net.0.proj.weight in .*bf16.safetensors sha256 [0-9a-f]+"
                  ARGS golden info ${ffn_real_golden})
set_tests_properties(cli.real_golden_check cli.real_golden_info PROPERTIES FIXTURES_REQUIRED "real_checkpoints;real_golden")

# The capture script on a PyTorch model with LTX-2's FF structure, run through the harness.
# Skipped (exit 77) without python3-torch, python3-h5py or python3-numpy.
if(EXISTS /usr/bin/python3)
  add_test(NAME capture.pytorch_roundtrip
           COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/capture_roundtrip.py $<TARGET_FILE:ffn-parity>
                   ${PROJECT_SOURCE_DIR}/harness/inputs ${CMAKE_CURRENT_BINARY_DIR}/capture_roundtrip)
  set_tests_properties(capture.pytorch_roundtrip PROPERTIES LABELS unit SKIP_RETURN_CODE 77
                       ENVIRONMENT OMP_WAIT_POLICY=passive)
else()
  add_test(NAME capture.pytorch_roundtrip COMMAND ${CMAKE_COMMAND} -E echo "SKIP: no /usr/bin/python3")
  set_tests_properties(capture.pytorch_roundtrip PROPERTIES LABELS unit SKIP_REGULAR_EXPRESSION "^SKIP: ")
endif()
ffn_real_cli_test(real_golden_bless_inputs EXIT 2 STDERR "^ffn-parity golden[a-z ]*: error: --(inputs excludes --weights|weights excludes --inputs)$"
                  ARGS golden bless ${ffn_b1} --inputs full -o ${ffn_ckpt}/never.h5)
# Gated MLPs by the catalog's names (--model): separate gate and up (Z-Image), fused gate_up
# (FLUX.2); each at the tp sizes its stack allows.
ffn_real_cli_test(real_gated_separate EXIT 0 STDOUT "shape z-image-b0 \\(dim 64, inner 128\\), 2 tokens.*2 passed, 0 failed$"
                  ARGS run --weights ${ffn_ckpt}/z-image.safetensors --model z-image --layer 0 --tokens 2)
ffn_real_cli_test(real_gated_fused EXIT 0 STDOUT "shape flux2-b0 .*4 passed, 0 failed$"
                  ARGS run --weights ${ffn_ckpt}/flux2.safetensors --model flux2 --layer 0 --tokens 2)
ffn_real_cli_error(real_gated_wrong_model "[^\n]*/flux2.safetensors: no gate.weight tensor 'layers.0.feed_forward.w1.weight'"
                   --weights ${ffn_ckpt}/flux2.safetensors --model z-image --layer 0 --tokens 2)
ffn_real_cli_error(real_biased_model_without_bias "[^\n]*/z-image.safetensors: no proj_in.weight tensor"
                   --weights ${ffn_ckpt}/z-image.safetensors --model wan2.1-1.3b --layer 0 --tokens 2)
