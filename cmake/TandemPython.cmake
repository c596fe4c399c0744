# The Python package's native module (python/): built when nanobind is found
# for the chosen Python. TANDEM_PYTHON = AUTO (build it when nanobind is
# there), ON (fail without it) or OFF. Pick the Python with
# -DPython_EXECUTABLE=.venv/bin/python (tandem.sh test does); scikit-build-core
# (`pip install .`) sets it and SKBUILD itself.
set(TANDEM_WITH_PYTHON OFF)
if(NOT TANDEM_PYTHON STREQUAL "OFF")
  set(_required "")
  if(TANDEM_PYTHON STREQUAL "ON" OR SKBUILD)
    set(_required REQUIRED)
  endif()
  find_package(Python 3.9 COMPONENTS Interpreter Development.Module ${_required})
  if(Python_FOUND)
    execute_process(COMMAND "${Python_EXECUTABLE}" -m nanobind --cmake_dir
                    OUTPUT_VARIABLE _nanobind_dir OUTPUT_STRIP_TRAILING_WHITESPACE
                    RESULT_VARIABLE _nanobind_rc ERROR_QUIET)
    if(_nanobind_rc EQUAL 0)
      find_package(nanobind CONFIG PATHS "${_nanobind_dir}" NO_DEFAULT_PATH ${_required})
    elseif(_required)
      message(FATAL_ERROR "TANDEM_PYTHON=ON: nanobind is not installed for ${Python_EXECUTABLE} "
                          "(pip install nanobind)")
    endif()
  endif()
  if(nanobind_FOUND)
    set(TANDEM_WITH_PYTHON ON)
    message(STATUS "tandem: Python module for ${Python_EXECUTABLE} (nanobind ${nanobind_VERSION})")
  else()
    message(STATUS "tandem: no Python module (nanobind not found for ${Python_EXECUTABLE}; "
                   "./tandem.sh test builds it in .venv)")
  endif()
endif()
