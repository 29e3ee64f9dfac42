# cmake -DROOT=<source dir> -P CheckPureIncludes.cmake
# Fails when a file under a pure folder includes an I/O, threading, clock or third-party runtime
# header (DESIGN.md §2). Add new pure folders to PURE_DIRS.
set(PURE_DIRS guardrails/slo guardrails/risk guardrails/deploy trading-engine/domain trading-engine/gateway
              trading-engine/controls
              pharma-mes/domain)
set(FORBIDDEN
  "<iostream>" "<fstream>" "<sstream>" "<cstdio>" "<stdio.h>" "<thread>" "<mutex>" "<future>"
  "<condition_variable>" "<filesystem>" "<random>" "<ctime>" "<time.h>" "<unistd.h>" "<fcntl.h>"
  "<boost/" "<quickfix/" "<sqlite3.h>" "<pqxx/" "<prometheus/" "<sys/" "<netinet/" "<arpa/"
  "<mqtt/" "<toml++/" "\"logging/" "\"http/")
set(violations "")
foreach(dir IN LISTS PURE_DIRS)
  if(NOT EXISTS "${ROOT}/${dir}")
    continue()
  endif()
  file(GLOB_RECURSE files "${ROOT}/${dir}/*.hpp" "${ROOT}/${dir}/*.cpp" "${ROOT}/${dir}/*.h")
  foreach(f IN LISTS files)
    file(STRINGS "${f}" lines REGEX "^[ \t]*#[ \t]*include")
    foreach(line IN LISTS lines)
      foreach(bad IN LISTS FORBIDDEN)
        string(FIND "${line}" "${bad}" pos)
        if(NOT pos EQUAL -1)
          file(RELATIVE_PATH rel "${ROOT}" "${f}")
          string(APPEND violations "  ${rel}: ${line}\n")
        endif()
      endforeach()
    endforeach()
  endforeach()
endforeach()
if(violations)
  message(FATAL_ERROR "Pure folders include forbidden headers:\n${violations}")
endif()
message(STATUS "pure folders clean: ${PURE_DIRS}")
