# The real ffn-parity binary on good and bad command lines: exit status, and the one line a
# user sees on an error. cli_case.cmake runs each and does the checking.

# ffn_cli_test(<name> EXIT <code> [STDERR <regex>] [STDOUT <regex>] [JSON] [NO_DEVICE]
#              [FILE <path> FILE_REGEX <regex>] ARGS <arg>...)
# NO_DEVICE: the case expects no usable CUDA device; skipped where has_cuda_device finds one.
# FILE: a file the command must write, matching FILE_REGEX.
function(ffn_cli_test name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "JSON;NO_DEVICE" "EXIT;STDERR;STDOUT;FILE;FILE_REGEX" "ARGS")
  set(checks -DEXPECT_EXIT=${arg_EXIT})
  if(arg_NO_DEVICE AND TARGET has_cuda_device)
    list(APPEND checks -DSKIP_IF_DEVICE=$<TARGET_FILE:has_cuda_device>)
  endif()
  if(DEFINED arg_STDERR)
    list(APPEND checks "-DSTDERR_REGEX=${arg_STDERR}")
  endif()
  if(DEFINED arg_STDOUT)
    list(APPEND checks "-DSTDOUT_REGEX=${arg_STDOUT}")
  endif()
  if(arg_JSON)
    list(APPEND checks -DSTDOUT_JSON=ON)
  endif()
  if(DEFINED arg_FILE)
    list(APPEND checks "-DCHECK_FILE=${arg_FILE}" "-DFILE_REGEX=${arg_FILE_REGEX}")
  endif()
  add_test(NAME cli.${name}
           COMMAND ${CMAKE_COMMAND} ${checks} -P ${CMAKE_CURRENT_SOURCE_DIR}/cli_case.cmake
                   -- $<TARGET_FILE:ffn-parity> ${arg_ARGS})
  # CMake 3.25 scripts cannot choose their exit status, so a skip is announced in the output.
  set_tests_properties(cli.${name} PROPERTIES LABELS unit SKIP_REGULAR_EXPRESSION "^SKIP: ")
endfunction()

# Usage errors: exit status 2 and one line naming the option (or argument) and the reason.
function(ffn_cli_error name regex)
  ffn_cli_test(${name} EXIT 2 STDERR "^ffn-parity( run)?: error: ${regex}" ARGS ${ARGN})
endfunction()

ffn_cli_error(unknown_option "unknown option '--bogus'$" --bogus)
ffn_cli_error(unknown_run_option "unknown option '--bogus'$" run --shape tiny --bogus)
ffn_cli_error(unknown_subcommand "unknown subcommand 'frob' " frob)
ffn_cli_error(no_subcommand "no subcommand given ")
ffn_cli_error(unexpected_argument "unexpected argument 'frob'$" run frob)
ffn_cli_error(tp_not_a_number "--tp: 'abc' is not an integer$" run --tp abc)
ffn_cli_error(tp_out_of_range "--tp: 99999999999 is out of range$" run --tp 99999999999)
ffn_cli_error(tp_not_dividing "--tp: 3 does not divide the hidden size 64 " run --shape tiny --tp 3)
ffn_cli_error(tp_zero "--tp: 0 is not a TP size " run --shape tiny --tp 0)
ffn_cli_error(tokens_zero "--tokens: must be positive, got 0$" run --shape tiny --tokens 0)
ffn_cli_error(tokens_negative "--tokens: must be positive, got -5$" run --shape tiny --tokens -5)
ffn_cli_error(tokens_beyond_gemm "--tokens: 4611686018427387904 is more than a GEMM can take "
              run --shape tiny --tokens 4611686018427387904)
ffn_cli_error(seed_negative "--seed: '-1' is not a non-negative integer$" run --seed -1)
ffn_cli_error(unknown_shape "--shape: huge not in " run --shape huge)
ffn_cli_error(unknown_precision "--precision: fp8 not in " run --precision fp8)
ffn_cli_error(unknown_allreduce "--allreduce: tree not in " run --allreduce tree)
ffn_cli_error(unknown_format "--format: xml not in " run --format xml)
ffn_cli_error(outliers_beyond_hidden "--outliers: must be between 0 and the hidden size 64, got 65$"
              run --shape tiny --outliers 65)
# The loader's refusal: fp8-block's 128-element scale blocks cut by a tp 4 shard of shape small.
ffn_cli_error(fp8_block_cut_by_tp4 "nothing to run: every combination is refused \\(fp8-block at tp 4: --precision fp8-block.*tp 4.*128"
              run --shape small --tp 4 --precision fp8-block)

# The CUDA backend without a usable device (or in a build without CUDA): one line, exit 3.
# Skipped on a machine with a device, where the run would go ahead.
ffn_cli_test(backend_cuda_without_device EXIT 3 NO_DEVICE
             STDERR "^ffn-parity run: error: --backend cuda: (no CUDA device: |this build has no CUDA backend)"
             ARGS run --shape tiny --backend cuda)
ffn_cli_test(compare_backend_cuda_without_device EXIT 3 NO_DEVICE
             STDERR "^ffn-parity run: error: --backend cuda: (no CUDA device: |this build has no CUDA backend)"
             ARGS run --shape tiny --compare-backend cuda)
ffn_cli_test(golden_bless_cuda_without_device EXIT 3 NO_DEVICE
             STDERR "^ffn-parity golden bless: error: --backend cuda: (no CUDA device: |this build has no CUDA backend)"
             ARGS golden bless --shape tiny --backend cuda --output ${CMAKE_CURRENT_BINARY_DIR}/never-written.h5)
ffn_cli_error(unknown_backend "--backend: tpu not in " run --backend tpu)
ffn_cli_error(tf32_on_cpu "--tf32: only the cuda backend has TF32 GEMMs$" run --shape tiny --tf32)
ffn_cli_error(compare_backend_json "--compare-backend: its agreement table has no JSON form"
              run --shape tiny --backend cuda --compare-backend cpu --format json)
# Comparing a backend with itself checks nothing.
ffn_cli_error(compare_backend_same "--compare-backend cpu: the same as --backend; compare two different backends$"
              run --shape tiny --compare-backend cpu)

# Every input checked before the first case: one line naming the option, exit 2.
set(ffn_cli_work ${CMAKE_CURRENT_BINARY_DIR}/cli_work)
file(MAKE_DIRECTORY ${ffn_cli_work})
file(TOUCH ${ffn_cli_work}/a-file)
ffn_cli_error(junit_is_directory "--junit: ${ffn_cli_work}: is a directory, not a file$"
              run --shape tiny --junit ${ffn_cli_work})
ffn_cli_error(dump_outputs_is_file "--dump-outputs: ${ffn_cli_work}/a-file: exists and is not a directory$"
              run --shape tiny --dump-outputs ${ffn_cli_work}/a-file)
ffn_cli_error(frames_dir_is_file "--frames-dir: ${ffn_cli_work}/a-file: exists and is not a directory$"
              run --shape tiny --frames --frames-dir ${ffn_cli_work}/a-file)
ffn_cli_error(report_is_file "--report: ${ffn_cli_work}/a-file: exists and is not a directory$"
              run --shape tiny --report ${ffn_cli_work}/a-file)
ffn_cli_test(golden_bless_output_is_directory EXIT 2
             STDERR "^ffn-parity golden bless: error: -o: ${ffn_cli_work}: is a directory, not a file$"
             ARGS golden bless --shape tiny -o ${ffn_cli_work})
ffn_cli_test(golden_check_junit_is_directory EXIT 2
             STDERR "^ffn-parity golden check: error: --junit: ${ffn_cli_work}: is a directory, not a file$"
             ARGS golden check ${PROJECT_SOURCE_DIR}/goldens/tiny.h5 --junit ${ffn_cli_work})
ffn_cli_error(min_psnr_nan "--min-psnr: 'nan' is not a finite number$" run --shape tiny --frames --min-psnr nan)
ffn_cli_error(min_ssim_inf "--min-ssim: 'inf' is not a finite number$" run --shape tiny --frames --min-ssim inf)
ffn_cli_test(growth_below_one EXIT 2
             STDERR "^ffn-parity golden check: error: --growth: 0.5 is below 1: "
             ARGS golden check ${PROJECT_SOURCE_DIR}/goldens/tiny.h5 --growth 0.5)
ffn_cli_test(growth_infinite EXIT 2 STDERR "^ffn-parity golden check: error: --growth: 'inf' is not a finite number$"
             ARGS golden check ${PROJECT_SOURCE_DIR}/goldens/tiny.h5 --growth inf)
ffn_cli_error(tp_empty_element "--tp: empty element in '1,,2'$" run --shape tiny --tp 1,,2)
ffn_cli_error(precision_trailing_comma "--precision: empty element in 'bf16,'$" run --shape tiny --precision=bf16,)
ffn_cli_error(layers_without_frames "--layers requires --frames$" run --shape tiny --layers 3)
ffn_cli_error(grid_without_frames "--grid requires --frames$" run --shape tiny --grid 1,2,3)
ffn_cli_error(patch_without_frames "--patch requires --frames$" run --shape tiny --patch 4)
ffn_cli_error(min_psnr_without_frames "--min-psnr requires --frames$" run --shape tiny --min-psnr 30)
ffn_cli_error(frames_dir_without_frames "--frames-dir requires --frames$" run --shape tiny --frames-dir ${ffn_cli_work})
ffn_cli_error(ssim_without_frames "--ssim requires --frames$" run --shape tiny --ssim skimage)
ffn_cli_error(max_mad_without_frames "--max-mad requires --frames$" run --shape tiny --max-mad 1)
ffn_cli_error(ssim_window "--ssim skimage: the frames of --grid 1,1,1 --patch 4 are 4x4 pixels, smaller than its 7x7 window \\(scikit-image refuses such frames too\\)$"
              run --shape tiny --frames --ssim skimage --grid 1,1,1 --patch 4)
# The frames table says which SSIM scored them and shows the parity's MAD; --max-mad fails a case.
ffn_cli_test(run_frames_skimage EXIT 0
             STDOUT "\n# frames: 4 frames of 192x128; PSNR dB / SSIM \\(skimage: [^\n]*\n#[^\n]* par_mad [^\n]* max_mad verdict\n   1 [^\n]*  1\\.0000  0\\.0000 [^\n]* +- +PASS\n"
             ARGS run --shape tiny --tp 1,2 --precision bf16 --frames --ssim skimage)
ffn_cli_test(run_frames_max_mad EXIT 1
             STDOUT "\n#   FAIL tiny/t8/tp2/bf16/ring/s0: frames parity: max MAD [0-9.]+ > 0\\.001"
             ARGS run --shape tiny --tp 2 --precision bf16 --frames --max-mad 0.001)
ffn_cli_error(inject_list_with_others "--inject list: prints the faults and runs nothing; give it alone$"
              run --inject list --shape tiny)
ffn_cli_error(grid_beyond_memory "--grid 4096,4096,4096 --patch 16: the rollout of shape tiny needs about [0-9.e+]+ GiB .* more than this machine's "
              run --shape tiny --frames --grid 4096,4096,4096)
ffn_cli_error(grid_out_of_range "--grid: 5000 is not between 1 and 4096$" run --shape tiny --frames --grid 5000,1,1)
ffn_cli_test(seeds_out_of_range EXIT 2 STDERR "^ffn-parity false-alarms: error: --seeds: 99999999999999 is not between 1 and 4294967296$"
             ARGS false-alarms --seeds 99999999999999)

ffn_cli_test(help EXIT 0 STDOUT "Usage: ffn-parity \\[OPTIONS\\] SUBCOMMAND" ARGS --help)
ffn_cli_test(run_help EXIT 0 STDOUT "Usage: ffn-parity run .*--allreduce" ARGS run --help)
ffn_cli_test(version EXIT 0
             STDOUT "^ffn-parity ${PROJECT_VERSION} \\(commit ([0-9a-f]+(-dirty)?|unknown)\\)\nbuilt with: CUDA backend (yes|no), MPI (yes|no), NCCL (yes|no)\nlibraries: OpenBLAS [^\n]*, HDF5 [0-9.]+, OpenCV [0-9.]+$"
             ARGS --version)
ffn_cli_test(list_shapes EXIT 0 STDOUT "^# shape +dim +inner +tokens +act +bias\n  tiny +64 +256 +8 +gelu-tanh +yes\n.*  ltx2-video +4096 +16384 +64 +gelu-tanh +yes\n.*  flux2 +6144 +18432 +64 +swiglu +no\n"
             ARGS list shapes)
ffn_cli_test(list_precisions EXIT 0 STDOUT "^fp32 +fp32 weights and activations\n.*\nnvfp4 +E2M1 values" ARGS list precisions)
ffn_cli_test(list_allreduce EXIT 0
             STDOUT "^ring +generic per-hop ring .*\n +source: .*\nnccl-ring +NCCL Ring .*\nexact +fp64 sum, one rounding.*\noneshot +alias of custom-1stage"
             ARGS list allreduce)
ffn_cli_test(list_faults EXIT 0 STDOUT "^bias-every-rank +sharded .*\ncontrol-allreduce-exact [^\n]*$" ARGS list faults)
ffn_cli_test(list_nothing EXIT 2
             STDERR "^ffn-parity list: error: nothing to list \\(expected one of: shapes, models, precisions, allreduce, faults\\)$"
             ARGS list)
ffn_cli_test(golden_without_subcommand EXIT 2
             STDERR "^ffn-parity golden: error: no subcommand given \\(expected one of: bless, check, diff, inputs, info\\)$"
             ARGS golden)
ffn_cli_test(frames_without_subcommand EXIT 2
             STDERR "^ffn-parity frames: error: no subcommand given \\(expected one of: compare, bless\\)$"
             ARGS frames)
ffn_cli_test(list_models EXIT 0
             STDOUT "^# model +hidden +inner +act +gated +bias +tp .*\n  wan2.1-1.3b +1536 +8960 gelu-tanh +no +yes +1,2,4 +proj_in.weight=blocks.*\n  z-image +3840 +10240 swiglu +yes +no +1,2 +gate.weight=layers.*\n  ernie-image +4096 +12288 geglu +yes +no +1,2,4,8 "
             ARGS list models)
# An MLP without bias (LTX-2.5's video FFN): every case passes; a bias fault cannot occur in it.
ffn_cli_test(nobias_model EXIT 0 STDOUT "\n   8 +bf16 +ring [^\n]*PASS\n4 passed, 0 failed$"
             ARGS run --shape ltx2-video-nobias --tokens 2 --precision bf16)
ffn_cli_error(nobias_bias_fault "--inject: no injected fault applies to any case \\([^:]*: the MLP has no bias to add on every rank\\)$"
              run --shape ltx2-video-nobias --tokens 2 --tp 2 --precision bf16 --inject bias-every-rank)
# A catalog model's shape runs the tp sizes its stack allows unless --tp says otherwise.
ffn_cli_test(model_shape_default_tps EXIT 0 STDOUT "\n   4 +bf16 +ring [^\n]*PASS\n3 passed, 0 failed$"
             ARGS run --shape wan2.1-1.3b --tokens 2 --precision bf16)
ffn_cli_test(tokens_help_lists_defaults EXIT 0 STDOUT "the preset's \\(tiny 8, small 8, ltx2-video 64, ltx2-video-nobias 64, ltx2-audio 64, wan2.1-1.3b 64,"
             ARGS run --help)
ffn_cli_test(tiny_run EXIT 0 STDOUT "# *tp +precision .* PASS.*[0-9]+ passed, 0 failed$"
             ARGS run --shape tiny)
ffn_cli_test(tiny_run_json EXIT 0 JSON ARGS run --shape tiny --format json)
# --report: the table ends with where the page is; JSON output stays JSON alone.
set(ffn_report_dir ${CMAKE_CURRENT_BINARY_DIR}/report_cli)
ffn_cli_test(run_report EXIT 0 STDOUT "\n2 passed, 0 failed\nreport: ${ffn_report_dir}/table/index\\.html$"
             ARGS run --shape tiny --tp 1,2 --precision bf16 --report ${ffn_report_dir}/table)
ffn_cli_test(run_report_json EXIT 0 JSON
             ARGS run --shape tiny --tp 1,2 --precision bf16 --format json --report ${ffn_report_dir}/json)

# `ffn-parity frames`: the fixture writes A (structured frames), B (A plus noise), A without
# its last frame, and A as PNG frames (make_test_video.cpp), then blesses A as golden frames.
add_executable(make_test_video make_test_video.cpp)
target_link_libraries(make_test_video PRIVATE ffn_metrics)
# Not a test: the per-frame CPU of the frame metrics, printed by ci/bench-frames.sh.
add_executable(bench_frame_metrics bench_frame_metrics.cpp)
target_link_libraries(bench_frame_metrics PRIVATE ffn_metrics)
set(ffn_frames ${CMAKE_CURRENT_BINARY_DIR}/frames_cli)
add_test(NAME cli.frames_make_videos COMMAND make_test_video ${ffn_frames})
set_tests_properties(cli.frames_make_videos PROPERTIES LABELS unit FIXTURES_SETUP frames_videos)

function(ffn_frames_cli_test name fixture)
  ffn_cli_test(${name} ${ARGN})
  set_tests_properties(cli.${name} PROPERTIES FIXTURES_REQUIRED ${fixture})
endfunction()

ffn_frames_cli_test(frames_bless frames_videos EXIT 0
                    STDOUT "^blessed 6 frames of 128x96 at 24 fps from .*a\\.avi into .*a\\.h5 \\(/frames/video\\)$"
                    ARGS frames bless ${ffn_frames}/a.avi -o ${ffn_frames}/a.h5 --force)
set_tests_properties(cli.frames_bless PROPERTIES FIXTURES_SETUP frames_golden)

ffn_frames_cli_test(frames_compare_identical frames_videos EXIT 0
                    STDOUT "\n      0      inf  1\\.0000   0\\.0000\n.*\nno thresholds given [^\n]*$"
                    ARGS frames compare ${ffn_frames}/a.avi ${ffn_frames}/a_png)
ffn_frames_cli_test(frames_compare_golden frames_golden EXIT 0
                    STDOUT "\n      5      inf  1\\.0000   0\\.0000\n.*\nPASS: every frame has psnr >= 60 dB and ssim >= 0\\.99$"
                    ARGS frames compare ${ffn_frames}/a.h5:frames/video ${ffn_frames}/a.avi
                         --min-psnr 60 --min-ssim 0.99)
ffn_frames_cli_test(frames_compare_worst_frames frames_videos EXIT 0
                    STDOUT "\npsnr [0-9.]+ dB \\(of the mean MSE\\), min [0-9.]+ dB at frame [0-5]; ssim mean [0-9.]+, min [0-9.]+ at frame [0-5]; mad mean [0-9.]+, max [0-9.]+ at frame [0-5]\nno thresholds"
                    ARGS frames compare ${ffn_frames}/a.avi ${ffn_frames}/b.avi)
ffn_frames_cli_test(golden_info_frames frames_golden EXIT 0
                    STDOUT "\n# frames /frames/video: 6 frames of 128x96 \\(compare with `ffn-parity frames compare .*a\\.h5:frames/video VIDEO`\\)\n.*\n0 cases, 6 frames$"
                    ARGS golden info ${ffn_frames}/a.h5)
ffn_frames_cli_test(frames_compare_json frames_videos EXIT 0 JSON
                    ARGS frames compare ${ffn_frames}/a.avi ${ffn_frames}/b.avi --format json)
ffn_frames_cli_test(frames_compare_below_min_psnr frames_videos EXIT 1
                    STDOUT "\nFAIL: 6 of 6 frames miss psnr >= 80 dB$"
                    ARGS frames compare ${ffn_frames}/a.avi ${ffn_frames}/b.avi --min-psnr 80)
# --ssim skimage and --max-mad: the table says which SSIM; B is A plus noise, about 3 levels of MAD.
ffn_frames_cli_test(frames_compare_skimage_max_mad frames_videos EXIT 1
                    STDOUT "; ssim \\(skimage\\) = scikit-image structural_similarity .*\n      0 +[0-9.]+  0\\.[0-9]+ +[0-9.]+  FAIL\n.*\nFAIL: 6 of 6 frames miss mad <= 1\\.5$"
                    ARGS frames compare ${ffn_frames}/a.avi ${ffn_frames}/b.avi --ssim skimage --max-mad 1.5)
ffn_frames_cli_test(frames_compare_max_mad_pass frames_videos EXIT 0
                    STDOUT "; ssim \\(gaussian\\) = Wang .*\nPASS: every frame has ssim >= 0\\.5 and mad <= 10$"
                    ARGS frames compare ${ffn_frames}/a.avi ${ffn_frames}/b.avi --min-ssim 0.5 --max-mad 10)
ffn_frames_cli_test(frames_compare_skimage_json frames_videos EXIT 0
                    STDOUT "\n  \"mad_max\": [0-9.]+,\n.*\n  \"ssim_kind\": \"skimage\",\n"
                    ARGS frames compare ${ffn_frames}/a.avi ${ffn_frames}/b.avi --ssim skimage --format json)
ffn_cli_test(frames_compare_unknown_ssim EXIT 2
             STDERR "^ffn-parity frames compare: error: --ssim: ffmpeg not in \\{gaussian,skimage\\}$"
             ARGS frames compare a.avi b.avi --ssim ffmpeg)
ffn_cli_test(frames_compare_max_mad_negative EXIT 2
             STDERR "^ffn-parity frames compare: error: --max-mad: -1 is not between 0 and 255$"
             ARGS frames compare a.avi b.avi --max-mad -1)
ffn_frames_cli_test(frames_compare_missing frames_videos EXIT 2
                    STDERR "^ffn-parity frames compare: error: .*/missing\\.avi: no such file$"
                    ARGS frames compare ${ffn_frames}/a.avi ${ffn_frames}/missing.avi)
# The codecs module (metrics/frame_codecs.hpp) that FFN_PARITY_FRAME_CODECS names is missing, not a
# shared object, a shared object of something else, or from another build: one line each, exit 2.
add_library(frame_codecs_other_build MODULE frame_codecs_other_build.cpp)
target_link_libraries(frame_codecs_other_build PRIVATE ffn_metrics)
foreach(module_case
        "missing|${ffn_frames}/no-such-module.so|the frame codecs module is missing \\(looked for .*/no-such-module\\.so\\)"
        "not_elf|${ffn_frames}/a.avi|cannot load the frame codecs module \\(.*a\\.avi: "
        "not_codecs|$<TARGET_FILE:fmt::fmt>|.*libfmt[.so0-9]* is not a frame codecs module \\(no ffn_frame_codecs\\)"
        "other_build|$<TARGET_FILE:frame_codecs_other_build>|.*frame_codecs_other_build\\.so is from another build \\(interface 2, this binary needs 1\\)")
  string(REPLACE "|" ";" module_case "${module_case}")
  list(GET module_case 0 what)
  list(GET module_case 1 module)
  list(GET module_case 2 reason)
  ffn_frames_cli_test(frames_codecs_${what} frames_videos EXIT 2
                      STDERR "^ffn-parity frames compare: error: .*/a\\.avi: cannot read or write video and PNG files: ${reason}"
                      ARGS frames compare ${ffn_frames}/a.avi ${ffn_frames}/b.avi)
  set_tests_properties(cli.frames_codecs_${what} PROPERTIES ENVIRONMENT "FFN_PARITY_FRAME_CODECS=${module}")
endforeach()
ffn_frames_cli_test(frames_compare_counts frames_videos EXIT 2
                    STDERR "^ffn-parity frames compare: error: .*a\\.avi vs .*short\\.avi: frame counts differ: 6 vs 5$"
                    ARGS frames compare ${ffn_frames}/a.avi ${ffn_frames}/short.avi)
ffn_frames_cli_test(frames_bless_existing frames_golden EXIT 2
                    STDERR "^ffn-parity frames bless: error: .*a\\.h5: exists; pass --force to replace it$"
                    ARGS frames bless ${ffn_frames}/a.avi -o ${ffn_frames}/a.h5)

# Fault injection (run --inject) and the false-alarm sweep.
ffn_cli_error(inject_unknown "--inject: bogus not in " run --shape tiny --inject bogus)
ffn_cli_error(inject_with_frames "--inject: judged on the FFN outputs only, not with --frames or --report$"
              run --shape tiny --inject gelu-exact --frames)
ffn_cli_test(inject_list EXIT 0 STDOUT "^bias-every-rank .*\ncontrol-allreduce-exact [^\n]*$" ARGS run --inject list)
ffn_cli_test(inject_detected EXIT 1 STDOUT "\n# injected faults: 3 detected, 0 missed, 1 not applicable; controls: 0 passed, 0 failed\n0 passed, 3 failed, 1 not applicable$"
             ARGS run --shape tiny --tp 1,2 --precision bf16 --inject bias-every-rank,token-dropped)
ffn_cli_test(inject_control_passes EXIT 0 STDOUT "\n   8         fp8-static  custom-1stage control-allreduce-exact  \\|[^\n]* PASS\n# injected faults: 0 detected, 0 missed, 8 not applicable; controls: 8 passed, 0 failed\n8 passed, 0 failed, 8 not applicable$"
             ARGS run --shape tiny --tp 1,8 --precision bf16,fp8-static --allreduce ring,oneshot
                  --inject control-allreduce-fp32,control-allreduce-exact)
ffn_cli_test(inject_json EXIT 1 STDOUT "\"injected_fault\": \"allreduce-fp16\""
             ARGS run --shape tiny --tp 2 --precision bf16 --inject allreduce-fp16 --format json)
# Nothing checked is never a pass: exit 2 and one line saying what was empty.
ffn_cli_test(false_alarms_nothing_to_run EXIT 2
             STDERR "^ffn-parity false-alarms: error: nothing to run: every configuration is refused \\(fp8-block at tp 2: "
             ARGS false-alarms --shape tiny --tp 2 --precision fp8-block --seeds 1)
ffn_cli_error(inject_applies_to_nothing
              "--inject: no injected fault applies to any case \\(tiny/t8/tp1/bf16/ring/s0/inject=bias-every-rank: tp 1 "
              run --shape tiny --tp 1 --precision bf16 --inject bias-every-rank)
ffn_frames_cli_test(golden_check_frames_only frames_golden EXIT 2
                    STDERR "^ffn-parity golden check: error: nothing to check: .*a\\.h5 holds no cases "
                    FILE ${ffn_frames}/nothing-checked.xml FILE_REGEX "tests=\"1\" failures=\"0\" errors=\"1\""
                    ARGS golden check ${ffn_frames}/a.h5 --junit ${ffn_frames}/nothing-checked.xml)
# Combinations the loader refuses are listed as not run, the rest runs (every command alike).
ffn_cli_test(not_run_listed EXIT 0
             STDOUT "\n# not run: fp8-block at tp 4: --precision fp8-block: [^\n]*\n.*\n5 passed, 0 failed, 1 not run$"
             ARGS run --shape small --tokens 2 --tp 1,2,4 --precision fp8-block,bf16 --allreduce ring)
# Budgets never overflow: inputs they cannot hold are refused up front.
ffn_cli_error(outlier_scale_beyond_budget "--outlier-scale: at most 2\\^32 = 4\\.295e\\+09: [^\n]*, got 1e\\+20$"
              run --shape tiny --outliers 2 --outlier-scale 1e20)
ffn_cli_test(false_alarms_zero_seeds EXIT 2 STDERR "^ffn-parity false-alarms: error: --seeds: "
             ARGS false-alarms --seeds 0)
ffn_cli_test(false_alarms_bad_tp EXIT 2 STDERR "^ffn-parity false-alarms: error: --tp: 3 does not divide "
             ARGS false-alarms --seeds 1 --tp 3)
# Model selection: --model (one, several, all), --dims with --activation/--gated/--no-bias, and
# every conflicting or incomplete combination refused in one line.
ffn_cli_test(model_gated EXIT 0 STDOUT "shape z-image \\(dim 3840, inner 10240\\).*\n   2 +bf16 +ring [^\n]*PASS\n2 passed, 0 failed$"
             ARGS run --model z-image --tokens 2 --precision bf16)
ffn_cli_test(model_several EXIT 0
             STDOUT "shape hunyuan3d .*2 passed, 0 failed\n\n# ffn-parity [^\n]*shape z-image .*2 passed, 0 failed\n\nmodels: 2 of 2 passed$"
             ARGS run --model hunyuan3d,z-image --tokens 1 --tp 1,2 --precision bf16)
ffn_cli_test(dims_geglu_native EXIT 0 STDOUT "shape dims-128x256-geglu-nobias \\(dim 128, inner 256\\).*6 passed, 0 failed$"
             ARGS run --dims 128,256 --activation gelu --gated --no-bias --act-rounding native --tokens 4 --tp 1,2,4 --precision bf16,fp16)
ffn_cli_error(model_unknown "--model: gpt-5: not in the model catalog \\(`ffn-parity list models`\\)$"
              run --model gpt-5)
ffn_cli_error(model_all_in_list "--model: all stands alone, not in a list$" run --model flux2,all)
ffn_cli_error(model_and_shape "--shape, --model and --dims each name the MLP: give one of them$"
              run --model flux2 --shape tiny)
ffn_cli_error(activation_without_dims "--activation: describes the MLP of --dims; a shape or model has its own$"
              run --model flux2 --activation silu)
ffn_cli_error(gated_twice "--gated: --activation swiglu is gated already$" run --dims 64,128 --activation swiglu --gated)
ffn_cli_error(dims_zero "--dims: 0,128: sizes must be positive$" run --dims 0,128)
ffn_cli_error(several_models_json "--format json: one model at a time \\(2 models given\\); run one invocation per model, as ci/nightly-multi-gpu.sh does$"
              run --model flux2,z-image --format json)
ffn_cli_test(golden_several_models EXIT 2
             STDERR "^ffn-parity golden bless: error: --model: 2 models given; this command takes one at a time$"
             ARGS golden bless --model flux2,z-image --output ${CMAKE_CURRENT_BINARY_DIR}/never.h5)
ffn_cli_error(gate_fault_ungated "--inject: no injected fault applies to any case \\([^:]*: the MLP is not gated: it has no gate and up halves\\)$"
              run --shape tiny --inject gate-up-swapped)
ffn_cli_error(stray_bias_biased "--inject: no injected fault applies to any case \\([^:]*: the MLP has a bias of its own: a stray one needs an MLP without bias\\)$"
              run --shape tiny --inject stray-bias)
# The gate/up and no-bias faults are detected at tp 2 on a gated MLP without bias; the control passes.
ffn_cli_test(gated_faults EXIT 1
             STDOUT "# injected faults: 8 detected, 0 missed, 0 not applicable; controls: 1 passed, 0 failed\n"
             ARGS run --dims 64,128 --activation swiglu --no-bias --tokens 4 --tp 2 --precision bf16,fp8-dynamic
                  --inject gate-up-contiguous,gate-up-swapped,act-wrong-half,stray-bias,control-allreduce-exact)
ffn_cli_test(weights_with_two_models EXIT 2
             STDERR "^ffn-parity golden bless: error: --model with --weights: 2 models given; a checkpoint holds one$"
             ARGS golden bless -o ${CMAKE_CURRENT_BINARY_DIR}/never.h5 --weights ${CMAKE_CURRENT_BINARY_DIR}/never.safetensors --layer 0 --model flux2,z-image)

# issue 17: AllReduce models, their options and the directed-rounding faults.
ffn_cli_test(nccl_channels_out_of_range EXIT 2 STDERR "^ffn-parity run: error: --nccl-channels: 0 is not between 1 and 64$"
             ARGS run --nccl-channels 0)
ffn_cli_test(allreduce_alias_oneshot EXIT 0 STDOUT "\n   2               bf16  custom-1stage \\|[^\n]* PASS\n1 passed, 0 failed$"
             ARGS run --shape tiny --tp 2 --precision bf16 --allreduce oneshot)
ffn_cli_test(allreduce_all_compares EXIT 0
             STDOUT "# AllReduce comparison: sharded path rel_l2 vs fp64 reference / vs allgather path, per tp\n.*\n +bf16 +nccl-ring-ch2 \\| [^\n]*\n.*12 passed, 0 failed$"
             ARGS run --shape tiny --tp 2 --precision bf16 --allreduce all --nccl-channels 2)
# --nccl-ring-order: parsed, checked against every tp and the channels, in the case's name.
ffn_cli_test(nccl_ring_order_not_a_rank EXIT 2
             STDERR "^ffn-parity run: error: --nccl-ring-order: 'x' in '0,x' is not a rank \\(rings of ranks 0..tp-1: 0,2,1,3 or 0,1,2,3/0,2,1,3\\)$"
             ARGS run --shape tiny --tp 2 --allreduce nccl-ring --nccl-ring-order 0,x)
ffn_cli_test(nccl_ring_order_not_a_permutation EXIT 2
             STDERR "^ffn-parity run: error: --nccl-ring-order: the ring 0,1 is not a permutation of 0..3 \\(tp 4\\)$"
             ARGS run --shape tiny --tp 2,4 --allreduce nccl-ring --nccl-ring-order 0,1)
ffn_cli_test(nccl_ring_order_count EXIT 2
             STDERR "^ffn-parity run: error: --nccl-ring-order: 2 rings for 3 channels \\(give one ring for every channel, or one per channel\\)$"
             ARGS run --shape tiny --tp 2 --allreduce nccl-ring --nccl-channels 3 --nccl-ring-order 0,1/1,0)
ffn_cli_test(nccl_ring_order_without_nccl_ring EXIT 2
             STDERR "^ffn-parity run: error: --nccl-ring-order: only nccl-ring has rings \\(add it to --allreduce\\)$"
             ARGS run --shape tiny --tp 2 --allreduce ring --nccl-ring-order 1,0)
ffn_cli_test(nccl_ring_order_runs EXIT 0
             STDOUT "\n   4 +bf16 nccl-ring-ch2-r0.2.1.3_3.2.1.0 \\|[^\n]* PASS\n1 passed, 0 failed$"
             ARGS run --shape tiny --tp 4 --precision bf16 --allreduce nccl-ring --nccl-channels 2 --nccl-ring-order 0,2,1,3/3,2,1,0)
# custom-2stage: a buffer of partial 16-byte packs is refused (the kernel refuses it, the stack calls
# NCCL); where the stack would dispatch to another kernel, the run says so.
ffn_cli_test(custom_2stage_partial_pack EXIT 2
             STDERR "^ffn-parity run: error: nothing to run: every combination is refused \\(bf16 at tp 3, --allreduce custom-2stage: 63 bf16 elements \\(126 bytes\\) are not whole 16-byte packs: the 2-stage kernel refuses them \\(custom_all_reduce.cuh CustomAllreduce::allreduce\\) and the stack sends them to NCCL \\(custom_all_reduce.py should_custom_ar\\)\\)$"
             ARGS run --dims 63,126 --tokens 1 --tp 3 --precision bf16 --allreduce custom-2stage)
ffn_cli_test(custom_2stage_dispatch_note EXIT 0
             STDOUT "^# note: custom-2stage at tp 2: the stack would not run this kernel on 1024 bytes: 2 ranks always run the 1-stage kernel \\(custom_all_reduce.cuh CustomAllreduce::allreduce\\), so it runs custom-1stage; the row shows the custom-2stage kernel as if it ran\n# ffn-parity"
             ARGS run --shape tiny --tp 2 --precision bf16 --allreduce custom-2stage)
ffn_cli_test(inject_truncate_fp32_not_applicable EXIT 2
             STDERR "^ffn-parity run: error: --inject: no injected fault applies to any case \\([^\n]*fp32 activations: no conversion onto a narrower grid to truncate\\)$"
             ARGS run --shape tiny --tp 2 --precision fp32 --inject partial-truncate)
