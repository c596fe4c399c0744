# Builds examples/subdirectory, which add_subdirectory()s this source tree,
# with a static, CPU-only libtandem, runs its program, then installs the
# embedded tandem (TANDEM_INSTALL=ON) into PREFIX for the static package tests.
# One library build serves both: it is the longest part of the suite.
#   cmake -DSOURCE=<repo> -DWORK=<dir> -DPREFIX=<dir> -DGENERATOR=<gen> -DJOBS=<n>
#         [-DCXX=...] [-DCC=...] [-DLAUNCHER=...] -P tests/package_subdirectory.cmake
cmake_minimum_required(VERSION 3.25)

function(step what)
  string(TIMESTAMP t0 "%s")
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  string(TIMESTAMP t1 "%s")
  math(EXPR secs "${t1} - ${t0}")
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${what} failed (${rc}) after ${secs} s:\n${out}")
  endif()
  message(STATUS "${what}: ${secs} s")
endfunction()

set(args -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF -DTANDEM_CUDA=OFF -DTANDEM_INSTALL=ON
    -DCMAKE_INSTALL_PREFIX=${PREFIX} -DTANDEM_SOURCE_DIR=${SOURCE})
# The compilers (and launcher) of the enclosing build, not whatever is on PATH.
if(CXX)
  list(APPEND args -DCMAKE_CXX_COMPILER=${CXX})
endif()
if(CC)
  list(APPEND args -DCMAKE_C_COMPILER=${CC})
endif()
if(LAUNCHER)
  list(APPEND args -DCMAKE_CXX_COMPILER_LAUNCHER=${LAUNCHER} -DCMAKE_C_COMPILER_LAUNCHER=${LAUNCHER})
endif()

file(REMOVE_RECURSE ${PREFIX})
step("configure examples/subdirectory"
  ${CMAKE_COMMAND} -S ${SOURCE}/examples/subdirectory -B ${WORK} -G ${GENERATOR} ${args})
# Embedded, tandem must not build its CLI, tools or tests.
foreach(t tandem_cli tandem_tools tandem_internal)
  if(EXISTS ${WORK}/tandem/CMakeFiles/${t}.dir)
    message(FATAL_ERROR "add_subdirectory(tandem) generated the internal target ${t}")
  endif()
endforeach()
step("build (libtandem.a and the consumer)" ${CMAKE_COMMAND} --build ${WORK} --parallel ${JOBS})
step("run the consumer" ${CMAKE_CTEST_COMMAND} --test-dir ${WORK} --output-on-failure)
step("install the embedded tandem" ${CMAKE_COMMAND} --install ${WORK})
file(GLOB _archive ${PREFIX}/lib*/libtandem.a)
if(NOT _archive)
  message(FATAL_ERROR "no libtandem.a under ${PREFIX}")
endif()
