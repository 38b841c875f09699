# Docs that cannot drift: the README's example outputs against their commands, and
# goldens/SCHEMA.md against goldens as the writer makes them today.

# ffn_python_test(<name> <script> <arg>...): label unit; exit 77 is a skip (a missing Python
# module), and without /usr/bin/python3 at all the test reports a skip by SKIP: below.
function(ffn_python_test name script)
  if(EXISTS /usr/bin/python3)
    add_test(NAME ${name} COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/${script} ${ARGN})
    set_tests_properties(${name} PROPERTIES LABELS unit SKIP_RETURN_CODE 77 ENVIRONMENT OMP_WAIT_POLICY=passive)
  else()
    add_test(NAME ${name} COMMAND ${CMAKE_COMMAND} -E echo "SKIP: no /usr/bin/python3")
    set_tests_properties(${name} PROPERTIES LABELS unit SKIP_REGULAR_EXPRESSION "^SKIP: ")
  endif()
endfunction()

ffn_python_test(readme.examples readme_examples.py ${PROJECT_SOURCE_DIR}/README.md $<TARGET_FILE:ffn-parity>)

# One golden of every kind the writer makes, blessed now: plain precisions, the quantized
# schemes (shape small keeps fp8-block's 128-element blocks whole at tp 2), frames, real inputs
# (bf16 with captured activations, and a quantized checkpoint), and one video. Blessed here
# rather than taken from other tests' fixtures, whose names `ctest -E golden` leaves out.
set(ffn_schema_goldens ${CMAKE_CURRENT_BINARY_DIR}/schema_goldens)
file(MAKE_DIRECTORY ${ffn_schema_goldens})
set(ffn_schema_files)
# ffn_schema_bless(<name> <fixture the inputs come from or NONE> <ffn-parity argument>...)
function(ffn_schema_bless name inputs_fixture)
  add_test(NAME schema.bless_${name} COMMAND ffn-parity ${ARGN} -o ${ffn_schema_goldens}/${name}.h5 --force)
  set_tests_properties(schema.bless_${name} PROPERTIES LABELS unit FIXTURES_SETUP schema_goldens
                       ENVIRONMENT OMP_WAIT_POLICY=passive)
  if(NOT inputs_fixture STREQUAL NONE)
    set_tests_properties(schema.bless_${name} PROPERTIES FIXTURES_REQUIRED ${inputs_fixture})
  endif()
  set(ffn_schema_files ${ffn_schema_files} ${ffn_schema_goldens}/${name}.h5 PARENT_SCOPE)
endfunction()
ffn_schema_bless(plain NONE golden bless --shape tiny --tp 1,2 --precision fp32,bf16,fp16 --inputs full)
ffn_schema_bless(quantized NONE golden bless --shape small --tp 1,2 --allreduce ring
                 --precision fp8-static,fp8-dynamic,fp8-dynamic-tensor,fp8-block,int8,nvfp4)
ffn_schema_bless(frames NONE golden bless --shape tiny --tp 1,2 --precision bf16 --frames --ssim skimage --max-mad 8)
ffn_schema_bless(nobias NONE golden bless --shape ltx2-video-nobias --tokens 2 --tp 1,2 --precision bf16)
ffn_schema_bless(gated NONE golden bless --dims 64,128 --activation swiglu --no-bias --act-rounding native --tokens 2 --tp 1,2 --precision bf16,fp8-dynamic-tensor --inputs full)
ffn_schema_bless(real real_checkpoints golden bless ${ffn_b1} --activations ${ffn_ckpt}/capture.h5 --tp 1,2)
ffn_schema_bless(real_quantized real_checkpoints
                 golden bless --weights ${ffn_ckpt}/fp8-static.safetensors --layer 1 --tp 1,2 --tokens 4)
ffn_schema_bless(video frames_videos frames bless ${ffn_frames}/a.avi)

ffn_python_test(schema.documented schema_documented.py ${PROJECT_SOURCE_DIR}/goldens/SCHEMA.md ${ffn_schema_files})
set_tests_properties(schema.documented PROPERTIES FIXTURES_REQUIRED schema_goldens)
