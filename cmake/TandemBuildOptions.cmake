# Build variants: sanitizers, fuzzing, CPU clones, the package tests, the
# release optimisation level.  docs/reliability.md says how each is used.
#
#   TANDEM_SANITIZE       comma-separated -fsanitize= list: "" (none), "address,undefined",
#                         "thread", ... Applied to every C/C++ target of the build.
#   TANDEM_FUZZ           the libFuzzer harnesses of tests/fuzz (clang only; implies
#                         address,undefined unless TANDEM_SANITIZE says otherwise).
#   TANDEM_CPU_CLONES     hot loops compiled per x86-64 level with target_clones (GCC).
#                         Off for clang (it refuses target_clones on templates) and under
#                         ThreadSanitizer (the IFUNC resolvers run before TSan starts).
#   TANDEM_BUILD_PACKAGE_TESTS  install/consume tests (an uninstrumented consumer cannot
#                         link an instrumented libtandem, so off in sanitizer builds).
#   TANDEM_RELEASE_OPT    the optimisation flag of Release builds (default -O3).

set(TANDEM_SANITIZE "" CACHE STRING "Sanitizers to build with (-fsanitize=...): empty, address,undefined, thread")
option(TANDEM_FUZZ "Build the libFuzzer harnesses in tests/fuzz (clang)" OFF)
if(TANDEM_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "TANDEM_FUZZ=ON needs clang (libFuzzer): configure with CC=clang CXX=clang++")
  endif()
  if(TANDEM_SANITIZE STREQUAL "")
    set(TANDEM_SANITIZE "address,undefined" CACHE STRING "" FORCE)
  endif()
endif()

set(_tandem_clones_default ON)
if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "GNU" OR TANDEM_SANITIZE MATCHES "thread")
  set(_tandem_clones_default OFF)
endif()
option(TANDEM_CPU_CLONES "Compile hot CPU loops per x86-64 level (target_clones, GCC)" ${_tandem_clones_default})
if(TANDEM_CPU_CLONES AND NOT CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  message(FATAL_ERROR "TANDEM_CPU_CLONES=ON needs GCC (${CMAKE_CXX_COMPILER_ID} refuses target_clones on templates)")
endif()
if(TANDEM_CPU_CLONES AND TANDEM_SANITIZE MATCHES "thread")
  message(FATAL_ERROR "TANDEM_CPU_CLONES=ON cannot run under ThreadSanitizer (IFUNC resolvers run before it starts)")
endif()
if(NOT TANDEM_CPU_CLONES)
  add_compile_definitions(TANDEM_NO_CPU_CLONES)
endif()

set(_tandem_pkg_default ${TANDEM_MASTER_PROJECT})
if(NOT TANDEM_SANITIZE STREQUAL "" OR TANDEM_FUZZ)
  set(_tandem_pkg_default OFF)
endif()
option(TANDEM_BUILD_PACKAGE_TESTS "Test the installed package and its consumers" ${_tandem_pkg_default})

set(TANDEM_RELEASE_OPT "-O3" CACHE STRING "Optimisation flag of Release builds")

if(NOT TANDEM_SANITIZE STREQUAL "")
  # Fatal on the first report (a ctest run fails instead of printing and passing);
  # frame pointers for readable stacks.
  set(_tandem_san -fsanitize=${TANDEM_SANITIZE} -fno-omit-frame-pointer)
  if(TANDEM_SANITIZE MATCHES "undefined")
    list(APPEND _tandem_san -fno-sanitize-recover=all)
  endif()
  foreach(flag IN LISTS _tandem_san)
    add_compile_options("$<$<COMPILE_LANGUAGE:C,CXX>:${flag}>")
  endforeach()
  add_link_options("$<$<LINK_LANGUAGE:C,CXX>:-fsanitize=${TANDEM_SANITIZE}>")
  message(STATUS "tandem: sanitizers ${TANDEM_SANITIZE}")
endif()
if(TANDEM_FUZZ)
  # Coverage for libFuzzer in every object; the harnesses link the fuzzer's main.
  add_compile_options("$<$<COMPILE_LANGUAGE:C,CXX>:-fsanitize=fuzzer-no-link>")
endif()
