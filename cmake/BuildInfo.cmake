# Build identity (version, git sha) baked into a generated header for /guardrail/v1/status.
execute_process(COMMAND git rev-parse --short=12 HEAD
  WORKING_DIRECTORY ${CMAKE_SOURCE_DIR} OUTPUT_VARIABLE GV_GIT_SHA
  OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
if(NOT GV_GIT_SHA)
  set(GV_GIT_SHA "unknown")
endif()
set(GV_VERSION ${PROJECT_VERSION})
configure_file(${CMAKE_SOURCE_DIR}/cmake/build_info.hpp.in
  ${CMAKE_BINARY_DIR}/generated/core/build_info.hpp @ONLY)
