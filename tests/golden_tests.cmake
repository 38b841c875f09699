# Every case of every committed golden is checked by ctest (label `golden`), the cases of one
# seeded input set in one test named golden:<file>:<set> (the case id without its _tp<N>_<model>
# part): the process generates and hashes the set once and runs its cases side by side, where a
# test per case made every case generate (or read back) the set and its fp64 reference again.
# The output has one line per case, so a failure still names its configuration. The case lists
# come from the FILE.cases manifests that `ffn-parity golden bless` writes next to each golden.
file(GLOB ffn_goldens_committed CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/goldens/*.h5)
foreach(golden IN LISTS ffn_goldens_committed)
  get_filename_component(stem ${golden} NAME)
  string(REGEX REPLACE "\\.h5$" "" stem "${stem}")
  set(manifest "${golden}.cases")
  if(NOT EXISTS "${manifest}")
    message(FATAL_ERROR "${golden} has no case manifest ${manifest}: re-bless it with ci/bless-goldens.sh")
  endif()
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${manifest}")
  file(STRINGS "${manifest}" golden_cases)
  set(input_sets)
  foreach(golden_case IN LISTS golden_cases)
    string(REGEX REPLACE "_tp[0-9]+_[^_]+$" "" input_set "${golden_case}")
    list(APPEND input_sets ${input_set})
    list(APPEND cases_of_${input_set} --case ${golden_case})
  endforeach()
  list(REMOVE_DUPLICATES input_sets)
  foreach(input_set IN LISTS input_sets)
    add_test(NAME golden:${stem}:${input_set} COMMAND ffn-parity golden check ${golden} ${cases_of_${input_set}})
    set_tests_properties(golden:${stem}:${input_set} PROPERTIES LABELS golden ENVIRONMENT OMP_WAIT_POLICY=passive)
    unset(cases_of_${input_set})
  endforeach()
endforeach()
