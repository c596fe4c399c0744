# Everything tandem needs comes from Debian packages (or a prefix named in
# CMAKE_PREFIX_PATH / PKG_CONFIG_PATH), found the CMake way.
find_package(Threads REQUIRED)
find_package(OpenMP REQUIRED COMPONENTS CXX)
find_package(PkgConfig REQUIRED)
pkg_check_modules(HWLOC REQUIRED IMPORTED_TARGET hwloc>=2.0)
pkg_check_modules(URING REQUIRED IMPORTED_TARGET liburing)
if(TANDEM_WITH_TOOLS)
  find_package(CLI11 CONFIG REQUIRED)
endif()
find_package(nlohmann_json 3.10 CONFIG REQUIRED)

# Google Highway: the one way tandem writes vector code (host/ops/*_hwy.cpp),
# compiled for every x86 / Arm target and picked at run time; its contrib
# library (hwy::hwy_contrib, in the same Debian package libhwy-dev) has VQSort,
# which sort uses for 64-bit keys.
find_package(hwy 1.0 CONFIG REQUIRED)

# Image codecs: libpng (FindPNG also brings zlib) and libjpeg-turbo's libjpeg API.
find_package(PNG 1.6 REQUIRED)
find_package(JPEG REQUIRED)
# TIFF through libtiff (strips, tiles, LZW/deflate/zstd, pages).
find_package(TIFF 4.5 REQUIRED)
# Intel ISA-L's igzip (Debian libisal-dev) compresses PNG pixels at
# --png-compression 1 about 3x faster than zlib (docs/performance.md); without
# it libpng's zlib path is used at every level.
pkg_check_modules(ISAL QUIET IMPORTED_TARGET libisal)
set(TANDEM_WITH_ISAL OFF)
if(TARGET PkgConfig::ISAL)
  set(TANDEM_WITH_ISAL ON)
endif()

# OpenBLAS for matmul on the CPU.  Debian ships a CMake config (without a
# target) and a .pc file.  TANDEM_BLAS_FROM tells the package config (a static
# libtandem links whichever target this was) how to find it again.
find_package(OpenBLAS CONFIG QUIET)
if(TARGET OpenBLAS::OpenBLAS)
  add_library(BLAS::openblas ALIAS OpenBLAS::OpenBLAS)
  set(TANDEM_BLAS_FROM config)
else()
  pkg_check_modules(OPENBLAS REQUIRED IMPORTED_TARGET openblas)
  add_library(BLAS::openblas ALIAS PkgConfig::OPENBLAS)
  set(TANDEM_BLAS_FROM pkg-config)
endif()

# MPI for `mpirun -n N tandem run` (the CLI only): Open MPI from Debian
# (openmpi-bin, libopenmpi-dev), or any MPI-3 implementation.
set(TANDEM_WITH_MPI OFF)
if(TANDEM_BUILD_CLI AND NOT TANDEM_MPI STREQUAL "OFF")
  if(TANDEM_MPI STREQUAL "ON")
    find_package(MPI REQUIRED COMPONENTS C)
  else()
    find_package(MPI QUIET COMPONENTS C)
  endif()
  if(MPI_C_FOUND)
    set(TANDEM_WITH_MPI ON)
  endif()
endif()
message(STATUS "tandem: MPI ${TANDEM_WITH_MPI} (TANDEM_MPI=${TANDEM_MPI})")

if(TANDEM_BUILD_TESTS)
  find_package(GTest REQUIRED)
endif()
if(TANDEM_BUILD_BENCH)
  find_package(benchmark CONFIG QUIET)
endif()
