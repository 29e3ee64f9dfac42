# Every external dependency is found here and only here (DESIGN.md §2).
# All come from Debian 12 packages installed by scripts/install-deps.sh.

find_package(Threads REQUIRED)
find_package(Boost 1.81 CONFIG REQUIRED COMPONENTS headers)
find_package(fmt REQUIRED)
find_package(tomlplusplus REQUIRED)
find_package(nlohmann_json 3.11 REQUIRED)
find_package(prometheus-cpp CONFIG REQUIRED COMPONENTS core)
find_package(GTest REQUIRED)
find_package(benchmark REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(sodium REQUIRED IMPORTED_TARGET libsodium)
find_package(OpenSSL 3 REQUIRED COMPONENTS Crypto SSL)  # SHA-256 (SHA extensions); FIX over TLS
find_package(SQLite3 REQUIRED)
pkg_check_modules(pqxx REQUIRED IMPORTED_TARGET libpqxx)
find_package(PahoMqttCpp REQUIRED)  # MQTT sensor ingest (Debian libpaho-mqttpp-dev)

# tl::expected (libexpected-dev) is header-only and ships no CMake package.
find_path(TL_EXPECTED_INCLUDE_DIR tl/expected.hpp REQUIRED)
add_library(tl_expected INTERFACE)
target_include_directories(tl_expected SYSTEM INTERFACE ${TL_EXPECTED_INCLUDE_DIR})
add_library(tl::expected ALIAS tl_expected)

# moodycamel queues (libconcurrentqueue-dev, libreaderwriterqueue-dev): headers in subfolders.
find_path(CONCURRENTQUEUE_INCLUDE_DIR concurrentqueue/concurrentqueue.h REQUIRED)
find_path(READERWRITERQUEUE_INCLUDE_DIR readerwriterqueue/readerwriterqueue.h REQUIRED)
add_library(moodycamel_queues INTERFACE)
target_include_directories(moodycamel_queues SYSTEM INTERFACE
  ${CONCURRENTQUEUE_INCLUDE_DIR} ${READERWRITERQUEUE_INCLUDE_DIR})
add_library(moodycamel::queues ALIAS moodycamel_queues)

# Beast/Asio are header-only; one interface target carries their compile definitions.
add_library(gv_beast INTERFACE)
target_link_libraries(gv_beast INTERFACE Boost::headers Threads::Threads)
target_compile_definitions(gv_beast INTERFACE BOOST_ASIO_NO_DEPRECATED BOOST_BEAST_USE_STD_STRING_VIEW)
add_library(gv::beast ALIAS gv_beast)

find_program(PROMTOOL_PROGRAM promtool)

# QuickFIX 1.15.1 (Debian libquickfix-dev): its pkg-config version is wrong, so find it directly.
# Only trading-engine/fix links it (C++14, DESIGN.md §3).
find_library(QUICKFIX_LIBRARY quickfix REQUIRED)
find_path(QUICKFIX_INCLUDE_DIR quickfix/Session.h REQUIRED)
add_library(QuickFIX::quickfix UNKNOWN IMPORTED)
set_target_properties(QuickFIX::quickfix PROPERTIES IMPORTED_LOCATION "${QUICKFIX_LIBRARY}"
                      INTERFACE_INCLUDE_DIRECTORIES "${QUICKFIX_INCLUDE_DIR}")
