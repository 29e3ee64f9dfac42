# GV_SANITIZE applies to every target in the tree (set by the presets).
if(GV_SANITIZE)
  message(STATUS "Sanitizers: ${GV_SANITIZE}")
  add_compile_options(-fsanitize=${GV_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${GV_SANITIZE})
endif()

# Coverage instrumentation for libFuzzer everywhere; only the harnesses link the fuzzer main.
if(GV_FUZZ)
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()
