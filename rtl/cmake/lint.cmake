# ctest rtl_lint: lints each RTL module alone (its own top) with every warning on. A warning is a failure:
# Verilator exits non-zero on one, and any output at all is treated as one too.
foreach(module ${MODULES})
  execute_process(
    COMMAND ${VERILATOR} --lint-only -Wall --no-timing ${RTL_DIR}/${module}.sv
    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT rc EQUAL 0 OR NOT out STREQUAL "")
    message(SEND_ERROR "rtl_lint: ${module}.sv (exit ${rc}):\n${out}")
  else()
    message(STATUS "rtl_lint: ${module}.sv clean")
  endif()
endforeach()
