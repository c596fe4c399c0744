# Checks what libtandem.so exports (it is built with hidden visibility and the
# public headers mark the API): no symbol of an internal namespace or type,
# and every entry point the README and examples/consumer use.
#   cmake -DLIB=<libtandem.so> [-DNM=nm] -P tests/check_exports.cmake
cmake_minimum_required(VERSION 3.25)
if(NOT NM)
  set(NM nm)
endif()
execute_process(COMMAND ${NM} -D -C --defined-only ${LIB}
  OUTPUT_VARIABLE dump ERROR_VARIABLE err RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${NM} -D -C --defined-only ${LIB} failed: ${err}")
endif()

# Internal namespaces (the CUDA backend, kernels, tools, CLI, helpers) and
# implementation types. A public header that declares a detail on purpose
# would add it to `allowed`.
set(internal
  "^tandem::(bench|microbench|cli|cuda|kern|nbh|pointops)::"
  "^tandem::([A-Za-z_0-9]+::)*[A-Za-z_0-9]*detail::"
  "^tandem::([A-Za-z_0-9]+::)*Impl::"
  "\\(anonymous namespace\\)")
set(allowed "")
# The README's and the consumer's entry points, as demangled prefixes.
set(required
  "tandem::gaussian(tandem::View const&, tandem::Tensor&, tandem::GaussianParams const&, tandem::Exec const&)"
  "tandem::run_batch(tandem::Pipeline const&, tandem::RunOptions const&, tandem::RunSummary&)"
  "tandem::Pipeline::parse("
  "tandem::io::read_image("
  "tandem::io::write_image("
  "tandem::Tensor::create_image("
  "tandem::find_op("
  "tandem::op_table()"
  "tandem::parse_args("
  "tandem::run_op("
  "tandem::cuda_status"
  "tandem::Topology::load_this_machine(")

string(REPLACE ";" "\\;" dump "${dump}")
string(REPLACE "\n" ";" lines "${dump}")
set(names "")
set(leaks "")
foreach(line IN LISTS lines)
  # "<address> <type> <name>"; the name may contain spaces.
  if(NOT line MATCHES "^[0-9a-fA-F]+ [A-Za-z] (.+)$")
    continue()
  endif()
  set(name "${CMAKE_MATCH_1}")
  list(APPEND names "${name}")
  # What a typeinfo, vtable or thunk belongs to is what decides.
  string(REGEX REPLACE "^(typeinfo name for|typeinfo for|vtable for|VTT for|construction vtable for|guard variable for|non-virtual thunk to|virtual thunk to) " "" entity "${name}")
  foreach(re IN LISTS internal)
    if(entity MATCHES "${re}" AND NOT entity IN_LIST allowed)
      list(APPEND leaks "${name}")
      break()
    endif()
  endforeach()
endforeach()
list(LENGTH names n)
if(n LESS 20)
  message(FATAL_ERROR "only ${n} dynamic symbols in ${LIB}: is it the shared library?")
endif()

set(missing "")
foreach(want IN LISTS required)
  set(found OFF)
  foreach(name IN LISTS names)
    string(FIND "${name}" "${want}" at)
    if(at EQUAL 0)
      set(found ON)
      break()
    endif()
  endforeach()
  if(NOT found)
    list(APPEND missing "${want}")
  endif()
endforeach()

set(msg "")
if(leaks)
  list(JOIN leaks "\n  " l)
  string(APPEND msg "internal symbols exported by ${LIB}:\n  ${l}\n")
endif()
if(missing)
  list(JOIN missing "\n  " m)
  string(APPEND msg "public entry points not exported by ${LIB}:\n  ${m}\n")
endif()
if(msg)
  message(FATAL_ERROR "${msg}")
endif()
message(STATUS "${n} exported symbols; none internal; the public entry points present")
