# Warnings and sanitizers are set here, once, for every paperboy target (paperboy_configure_target).
set(PAPERBOY_WARNINGS
  -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion -Wold-style-cast
  -Wnon-virtual-dtor -Woverloaded-virtual -Wformat=2 -Wimplicit-fallthrough -Wcast-align)
if(PAPERBOY_WERROR)
  list(APPEND PAPERBOY_WARNINGS -Werror)
endif()
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  list(APPEND PAPERBOY_WARNINGS -Wduplicated-cond -Wlogical-op)
  if(PAPERBOY_SANITIZERS MATCHES "thread")
    list(APPEND PAPERBOY_WARNINGS -Wno-tsan)  # asio's atomic fences
  endif()
  # GCC 12 at -O3 reports std::string's own `"lit" + std::string` as overlapping memcpy (GCC bug
  # 105329, fixed in 13); as an error it breaks Release builds of correct code.
  if(CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
    list(APPEND PAPERBOY_WARNINGS -Wno-restrict)
  endif()
endif()

if(PAPERBOY_SANITIZERS)
  add_compile_options(-fsanitize=${PAPERBOY_SANITIZERS} -fno-sanitize-recover=all -fno-omit-frame-pointer)
  add_link_options(-fsanitize=${PAPERBOY_SANITIZERS})
endif()

function(paperboy_configure_target target)
  target_compile_options(${target} PRIVATE ${PAPERBOY_WARNINGS})
endfunction()
