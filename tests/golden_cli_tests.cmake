# `ffn-parity golden` on good and bad files: the exit status, and the one line a user sees on
# an error, which must name the file. Uses ffn_cli_test (cli_tests.cmake, cli_case.cmake).
# The damaged files are made at test time in the build tree by golden_damage, run as the
# fixture test cli.golden_damaged_files; none is committed.

add_executable(golden_damage golden_damage.cpp)

set(ffn_golden_tiny ${PROJECT_SOURCE_DIR}/goldens/tiny.h5)
set(ffn_golden_damaged ${CMAKE_CURRENT_BINARY_DIR}/golden_cli)

add_test(NAME cli.golden_damaged_files COMMAND golden_damage ${ffn_golden_tiny} ${ffn_golden_damaged})
set_tests_properties(cli.golden_damaged_files PROPERTIES LABELS unit FIXTURES_SETUP golden_damaged)

# The path as a regular expression that matches only itself.
function(ffn_regex_escape out text)
  string(REGEX REPLACE "([][+.*()^$?|\\\\])" "\\\\\\1" escaped "${text}")
  set(${out} "${escaped}" PARENT_SCOPE)
endfunction()

# ffn_golden_cli_error(<name> <exit> <file> <reason regex> ARGS <arg>...): one stderr line
# "ffn-parity golden <subcommand>: error: ... <file>... <reason>".
function(ffn_golden_cli_error name exit file reason)
  ffn_regex_escape(file_re "${file}")
  ffn_cli_test(${name} EXIT ${exit}
               STDERR "^ffn-parity golden [a-z]+: error: (.*[ (])?(${file_re}(:| ).*${reason}|${reason}.* ${file_re}$)"
               ${ARGN})
  set_tests_properties(cli.${name} PROPERTIES FIXTURES_REQUIRED golden_damaged)
endfunction()

ffn_golden_cli_error(golden_check_missing_file 2 ${ffn_golden_damaged}/missing.h5 "does not exist"
                     ARGS golden check ${ffn_golden_damaged}/missing.h5)
ffn_golden_cli_error(golden_check_not_hdf5 2 ${ffn_golden_damaged}/not_hdf5.h5 "not an HDF5 file"
                     ARGS golden check ${ffn_golden_damaged}/not_hdf5.h5)
ffn_golden_cli_error(golden_check_empty 2 ${ffn_golden_damaged}/empty.h5 "empty file"
                     ARGS golden check ${ffn_golden_damaged}/empty.h5)
ffn_golden_cli_error(golden_check_truncated 2 ${ffn_golden_damaged}/truncated.h5 "truncated"
                     ARGS golden check ${ffn_golden_damaged}/truncated.h5)
ffn_golden_cli_error(golden_info_truncated 2 ${ffn_golden_damaged}/truncated.h5 "truncated"
                     ARGS golden info ${ffn_golden_damaged}/truncated.h5)
ffn_golden_cli_error(golden_diff_truncated 2 ${ffn_golden_damaged}/truncated.h5 "truncated"
                     ARGS golden diff ${ffn_golden_tiny} ${ffn_golden_damaged}/truncated.h5)
# A file that cannot be read is an input error (exit 2); the good one is still checked.
ffn_golden_cli_error(golden_check_good_and_bad 2 ${ffn_golden_damaged}/not_hdf5.h5 "not an HDF5 file"
                     STDOUT "1 passed, 0 failed$"
                     ARGS golden check ${ffn_golden_tiny} ${ffn_golden_damaged}/not_hdf5.h5
                          --case tiny_t8_fp32_s0_tp1_ring)
# A --case that names nothing checks nothing: exit 2 before any case runs.
ffn_golden_cli_error(golden_check_unknown_case 2 ${ffn_golden_tiny} "--case tiny_t8_fp8_s0_tp2_ring: no case has this id or name in"
                     ARGS golden check ${ffn_golden_tiny} --case tiny_t8_fp8_s0_tp2_ring)
# Blessing over an existing golden needs --force; the refusal says so.
ffn_golden_cli_error(golden_bless_existing 2 ${ffn_golden_damaged}/existing.h5 "--force"
                     ARGS golden bless --shape tiny --tp 1 --precision fp32 -o ${ffn_golden_damaged}/existing.h5)

ffn_regex_escape(tiny_re ${ffn_golden_tiny})
ffn_cli_test(golden_check_tiny_case EXIT 0 STDOUT "tiny/t8/tp2/bf16/ring/s0 .* PASS.1 passed, 0 failed$"
             ARGS golden check ${ffn_golden_tiny} --case tiny_t8_bf16_s0_tp2_ring)
ffn_cli_test(golden_info_tiny EXIT 0 STDOUT "^# ${tiny_re}.*\n#id .*\n tiny_t8_bf16_s0_tp2_ring +2 +bf16 +ring .* no\n.*[^0-9]24 cases$"
             ARGS golden info ${ffn_golden_tiny})
ffn_cli_test(golden_diff_tiny_self EXIT 0 STDOUT "goldens are identical in every dataset$"
             ARGS golden diff ${ffn_golden_tiny} ${ffn_golden_tiny})

# The input cache from the command line: `golden inputs --cache` writes the one seeded set of the
# Wan 2.1 golden (the smallest model's), `golden check --inputs-cache` reads it back and passes.
set(ffn_golden_cache ${CMAKE_CURRENT_BINARY_DIR}/golden_cli_cache)
ffn_cli_test(golden_inputs_cache_write EXIT 0
             STDOUT "wan2\\.1-1\\.3b_t2_bf16_s0: written to .*/golden_cli_cache/[0-9a-f]+\\.f32 [^\n]*\n1 input sets written, 0 refused$"
             ARGS golden inputs ${PROJECT_SOURCE_DIR}/goldens/wan2.1-1.3b.h5 --cache ${ffn_golden_cache})
ffn_cli_test(golden_check_inputs_cache_read EXIT 0 STDOUT "\n3 passed, 0 failed$"
             ARGS golden check ${PROJECT_SOURCE_DIR}/goldens/wan2.1-1.3b.h5 --inputs-cache ${ffn_golden_cache})
set_tests_properties(cli.golden_inputs_cache_write PROPERTIES FIXTURES_SETUP golden_cli_cache)
set_tests_properties(cli.golden_check_inputs_cache_read PROPERTIES FIXTURES_REQUIRED golden_cli_cache)

# The input cache (golden inputs --cache, golden check --inputs-cache): a golden that cannot be
# read, a cache directory that does not exist; a golden of stored inputs has nothing to cache.
ffn_golden_cli_error(golden_inputs_truncated 2 ${ffn_golden_damaged}/truncated.h5 "truncated"
                     ARGS golden inputs ${ffn_golden_damaged}/truncated.h5 --cache ${ffn_golden_damaged}/cache)
ffn_cli_test(golden_check_inputs_cache_missing EXIT 2
             STDERR "^ffn-parity golden check: error: --inputs-cache: Directory does not exist: .*/no-such-cache$"
             ARGS golden check ${ffn_golden_tiny} --inputs-cache ${ffn_golden_damaged}/no-such-cache)
ffn_cli_test(golden_inputs_stored EXIT 0 STDOUT "^0 input sets written, 0 refused \\(no seeded input set: "
             ARGS golden inputs ${ffn_golden_tiny} --cache ${ffn_golden_damaged}/cache)

# --allreduce selects the cases blessed with one model (with --comm nccl, NCCL is pinned once per
# process to that model; the refusal of several models needs a GPU to reach, the selection does not).
ffn_cli_test(golden_check_allreduce_selects EXIT 0
             STDOUT "^# golden check [^\n]*: 4 cases,[^\n]*\n(#[^\n]*\n)+( tiny/t8/tp[24]/(bf16|fp32)/custom-1stage/s0 [^\n]*PASS\n)+4 passed, 0 failed$"
             ARGS golden check --allreduce oneshot --case tiny/t8/tp2/bf16/custom-1stage/s0
                  --case tiny/t8/tp4/bf16/custom-1stage/s0 --case tiny/t8/tp2/fp32/custom-1stage/s0
                  --case tiny/t8/tp2/bf16/ring/s0 --case tiny/t8/tp4/fp32/custom-1stage/s0 --case tiny/t8/tp1/fp32/ring/s0 ${ffn_golden_tiny})
ffn_cli_test(golden_check_allreduce_none EXIT 2
             STDERR "^ffn-parity golden check: error: nothing to check: no case blessed with --allreduce exact in .*tiny.h5$"
             ARGS golden check --allreduce exact ${ffn_golden_tiny})
ffn_cli_test(golden_check_allreduce_unknown EXIT 2
             STDERR "^ffn-parity golden check: error: --allreduce: bogus not in \\{ring,nccl-ring,"
             ARGS golden check --allreduce bogus ${ffn_golden_tiny})
ffn_cli_test(golden_bless_nccl_ring_settings EXIT 2
             STDERR "^ffn-parity golden bless: error: --nccl-ring-order: a golden records the AllReduce model by name only, so its check would run nccl-ring on one channel in rank order; bless without it$"
             ARGS golden bless -o ${CMAKE_CURRENT_BINARY_DIR}/never.h5 --shape tiny --tp 2 --allreduce nccl-ring --nccl-ring-order 1,0)
