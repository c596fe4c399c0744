# Checks that every #include "..." in the library, the tools and the CLI points
# down the layers of docs/architecture.md:
#
#   core  <-  platform, io  <-  ops  <-  engine  <-  tools  <-  cli
#
# A file may include its own layer and any layer below it; platform and io sit
# side by side and may not include each other.  Run as
#   cmake -DSOURCE=<repo> -P tests/check_layers.cmake
cmake_minimum_required(VERSION 3.25)

# The layer of a repository path, or "" for files outside the layered code.
function(layer_of path out)
  set(l "")
  if(path MATCHES "^include/tandem/(status|dtype|tensor|device|border|config|unique)\\.hpp$")
    set(l core)
  elseif(path MATCHES "^include/tandem/(topology|placement)\\.hpp$")
    set(l platform)
  elseif(path MATCHES "^include/tandem/io/")
    set(l io)
  elseif(path MATCHES "^include/tandem/(op_table|pipeline)\\.hpp$" OR path MATCHES "^include/tandem/ops/")
    set(l ops)
  elseif(path MATCHES "^include/tandem/engine\\.hpp$")
    set(l engine)
  elseif(path MATCHES "^include/tandem/tandem\\.hpp$")
    set(l cli)  # the umbrella header sits on top of everything
  elseif(path MATCHES "^host/core/")
    set(l core)
  elseif(path MATCHES "^host/device/")
    set(l core)
  elseif(path MATCHES "^host/platform/")
    set(l platform)
  elseif(path MATCHES "^host/ops/")
    set(l ops)
  elseif(path MATCHES "^host/engine/")
    set(l engine)
  elseif(path MATCHES "^io/")
    set(l io)
  elseif(path MATCHES "^kernels/(runtime|cuda_check|device_query|device_backend|cublas_api|timing)\\.")
    set(l core)  # the CUDA device backend
  elseif(path MATCHES "^kernels/")
    set(l ops)   # an op's CUDA kernels and the math shared with its CPU code
  elseif(path MATCHES "^cli/tools/")
    set(l tools)
  elseif(path MATCHES "^cli/")
    set(l cli)
  elseif(path MATCHES "^python/src/")
    set(l cli)  # the Python bindings sit on top, beside the CLI
  endif()
  set(${out} "${l}" PARENT_SCOPE)
endfunction()

set(rank_core 0)
set(rank_platform 1)
set(rank_io 1)
set(rank_ops 2)
set(rank_engine 3)
set(rank_tools 4)
set(rank_cli 5)

file(GLOB_RECURSE files RELATIVE ${SOURCE}
  ${SOURCE}/include/*.hpp ${SOURCE}/host/*.cpp ${SOURCE}/host/*.hpp ${SOURCE}/io/*.cpp ${SOURCE}/io/*.hpp
  ${SOURCE}/kernels/*.cu ${SOURCE}/kernels/*.cuh ${SOURCE}/kernels/*.hpp ${SOURCE}/cli/*.cpp ${SOURCE}/cli/*.hpp
  ${SOURCE}/python/src/*.cpp ${SOURCE}/python/src/*.hpp)

set(violations "")
set(checked 0)
foreach(f IN LISTS files)
  layer_of(${f} from)
  if(from STREQUAL "")
    string(APPEND violations "  ${f}: in no layer (add it to tests/check_layers.cmake)\n")
    continue()
  endif()
  file(STRINGS ${SOURCE}/${f} lines REGEX "^[ \t]*#[ \t]*include[ \t]+\"")
  foreach(line IN LISTS lines)
    string(REGEX REPLACE "^[ \t]*#[ \t]*include[ \t]+\"([^\"]+)\".*" "\\1" inc "${line}")
    if(inc MATCHES "^tandem/")
      set(target "include/${inc}")
    elseif(inc MATCHES "^(host|io|kernels|cli)/")
      set(target "${inc}")
    else()
      continue()  # generated files (tandem_op_stems.inc) and the like
    endif()
    layer_of(${target} to)
    if(to STREQUAL "")
      continue()
    endif()
    math(EXPR checked "${checked} + 1")
    set(ok TRUE)
    if(rank_${to} GREATER rank_${from})
      set(ok FALSE)
    elseif(rank_${to} EQUAL rank_${from} AND NOT to STREQUAL from)
      set(ok FALSE)
    endif()
    if(NOT ok)
      string(APPEND violations "  ${f} (${from}) includes ${inc} (${to})\n")
    endif()
  endforeach()
endforeach()

if(violations)
  message(FATAL_ERROR "includes that point up or across the layers:\n${violations}")
endif()
message(STATUS "layers: ${checked} includes checked, all point down")
