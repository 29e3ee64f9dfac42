# gv::warnings: the warning set every target of ours links PRIVATE.
add_library(gv_warnings INTERFACE)
target_compile_options(gv_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast -Wcast-align
  -Woverloaded-virtual -Wconversion -Wsign-conversion -Wdouble-promotion
  -Wformat=2 -Wimplicit-fallthrough)
if(GV_WERROR)
  target_compile_options(gv_warnings INTERFACE -Werror)
endif()
add_library(gv::warnings ALIAS gv_warnings)
