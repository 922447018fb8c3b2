# Every third-party library comes from Debian's packages (scripts/setup-debian.sh); nothing is fetched.
find_package(Threads REQUIRED)
find_package(spdlog REQUIRED)
find_package(CLI11 REQUIRED)
# paperboyd's HTTP listener and the CLI's stats commands: cpp-httplib serves and fetches, so no
# HTTP parser of ours faces the network; nlohmann/json writes and reads the /stats document.
find_package(PkgConfig REQUIRED)
pkg_check_modules(HTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib)
find_package(nlohmann_json 3 REQUIRED)
# The --users file: libsodium's Argon2id (crypto_pwhash_str) stores tokens as slow salted hashes,
# and toml++ reads the file's [[user]] array of tables (CLI11's config reader cannot) with the
# line of every key, so an error names file, line and key.
pkg_check_modules(SODIUM REQUIRED IMPORTED_TARGET libsodium)
find_package(tomlplusplus 3 REQUIRED)
# TLS (paperboyd's --tls-port, the clients' TlsOptions): OpenSSL 3 from Debian (libssl-dev).
find_package(OpenSSL 3 REQUIRED)
if(PAPERBOY_BUILD_BENCH)
  find_package(fmt REQUIRED)
endif()
if(PAPERBOY_BUILD_TESTS)
  find_package(doctest REQUIRED)
endif()

# Standalone Asio ships no CMake package: wrap its headers in an INTERFACE target.
find_path(ASIO_INCLUDE_DIR asio.hpp REQUIRED)
add_library(paperboy_asio INTERFACE)
add_library(paperboy::asio ALIAS paperboy_asio)
target_include_directories(paperboy_asio SYSTEM INTERFACE ${ASIO_INCLUDE_DIR})
# Asio picks aligned_alloc/free or operator new/delete for its recycled handler memory by whether
# a standard header was included before its own, so two files including in different orders
# disagree (ASan: alloc-dealloc-mismatch; valgrind: mismatched free/delete). One choice for all.
target_compile_definitions(paperboy_asio INTERFACE ASIO_STANDALONE ASIO_NO_DEPRECATED
  ASIO_DISABLE_STD_ALIGNED_ALLOC)
target_link_libraries(paperboy_asio INTERFACE Threads::Threads)
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  # GCC 12 with -fsanitize=thread inlines Asio's coroutine-frame allocator (aligned_alloc, freed
  # through its own operator delete) and then takes the pair for a mismatch: a false positive.
  target_compile_options(paperboy_asio INTERFACE -Wno-mismatched-new-delete)
endif()
if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  # clang 14 does not detect Asio's coroutine support by itself.
  target_compile_definitions(paperboy_asio INTERFACE ASIO_HAS_CO_AWAIT=1 ASIO_HAS_STD_COROUTINE=1)
endif()
