# Fails when docs/ops.md differs from `tandem ops --markdown` (regenerate it with
# `build/tandem ops --markdown > docs/ops.md`).
execute_process(COMMAND ${TANDEM} ops --markdown OUTPUT_FILE ${OUT} RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "tandem ops --markdown failed (${rc})")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} -E compare_files ${OUT} ${DOC} RESULT_VARIABLE diff)
if(NOT diff EQUAL 0)
  message(FATAL_ERROR "docs/ops.md is out of date: run `tandem ops --markdown > docs/ops.md`")
endif()
