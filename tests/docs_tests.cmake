# Docs that cannot drift: the README's example outputs against their commands.

if(EXISTS /usr/bin/python3)
  add_test(NAME readme.examples
           COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/readme_examples.py
                   ${PROJECT_SOURCE_DIR}/README.md $<TARGET_FILE:ffn-parity>)
  set_tests_properties(readme.examples PROPERTIES LABELS unit ENVIRONMENT OMP_WAIT_POLICY=passive)
else()
  add_test(NAME readme.examples COMMAND ${CMAKE_COMMAND} -E echo "SKIP: no /usr/bin/python3")
  set_tests_properties(readme.examples PROPERTIES LABELS unit SKIP_REGULAR_EXPRESSION "^SKIP: ")
endif()
