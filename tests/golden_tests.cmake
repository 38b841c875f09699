# Every case of every committed golden is its own ctest test, labelled `golden`, named
# golden:<file>:<case id> so that a failure names its configuration. The case lists come from
# the FILE.cases manifests that `ffn-parity golden bless` writes next to each golden.
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
  # The golden's seeded input sets, generated and checked once per ctest run (a fixture), read
  # back by each case instead of each generating and hashing them; removed after the last case.
  set(cache ${CMAKE_CURRENT_BINARY_DIR}/input-cache/${stem})
  add_test(NAME golden-inputs:${stem} COMMAND ffn-parity golden inputs ${golden} --cache ${cache})
  add_test(NAME golden-inputs-removed:${stem} COMMAND ${CMAKE_COMMAND} -E rm -rf -- ${cache})
  set_tests_properties(golden-inputs:${stem} PROPERTIES LABELS golden FIXTURES_SETUP golden-inputs-${stem})
  set_tests_properties(golden-inputs-removed:${stem} PROPERTIES LABELS golden FIXTURES_CLEANUP golden-inputs-${stem})
  foreach(golden_case IN LISTS golden_cases)
    add_test(NAME golden:${stem}:${golden_case}
             COMMAND ffn-parity golden check ${golden} --case ${golden_case} --inputs-cache ${cache})
    set_tests_properties(golden:${stem}:${golden_case} PROPERTIES LABELS golden ENVIRONMENT OMP_WAIT_POLICY=passive
                         FIXTURES_REQUIRED golden-inputs-${stem})
  endforeach()
endforeach()
