# Cross build for 64-bit Arm Linux (aarch64) with Debian's cross compiler
# (g++-aarch64-linux-gnu), the tests run under qemu-aarch64 (qemu-user).
#
#   cmake -S . -B build-aarch64 \
#     -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/aarch64-linux-gnu.cmake \
#     -DTANDEM_AARCH64_SYSROOT=/path/to/arm64-root
#
# TANDEM_AARCH64_SYSROOT is an arm64 Debian root holding the libraries tandem
# needs and their -dev files: scripts/aarch64-qemu.sh extracts one from the
# :arm64 packages with mmdebstrap, without installing them on the host
# (docs/portability.md says why not multiarch).

# CMAKE_CROSSCOMPILING_EMULATOR makes ctest (and gtest_discover_tests) run the
# test programs under qemu-aarch64; QEMU_CPU in the environment picks the
# emulated CPU (qemu's default for aarch64 user mode is `max`: NEON, SVE, SVE2).

set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)

set(TANDEM_AARCH64_TRIPLE aarch64-linux-gnu)
set(CMAKE_C_COMPILER ${TANDEM_AARCH64_TRIPLE}-gcc)
set(CMAKE_CXX_COMPILER ${TANDEM_AARCH64_TRIPLE}-g++)

# try_compile projects run this file again: hand them the sysroot.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES TANDEM_AARCH64_SYSROOT)
set(TANDEM_AARCH64_SYSROOT "${TANDEM_AARCH64_SYSROOT}" CACHE PATH
    "arm64 Debian root with the libraries tandem needs (scripts/aarch64-qemu.sh makes one)")

if(NOT TANDEM_AARCH64_SYSROOT OR NOT EXISTS "${TANDEM_AARCH64_SYSROOT}/usr/lib/${TANDEM_AARCH64_TRIPLE}")
  message(FATAL_ERROR "TANDEM_AARCH64_SYSROOT='${TANDEM_AARCH64_SYSROOT}' is not an arm64 Debian root "
                      "(no usr/lib/${TANDEM_AARCH64_TRIPLE} in it): scripts/aarch64-qemu.sh makes one")
endif()
set(CMAKE_SYSROOT "${TANDEM_AARCH64_SYSROOT}")
set(CMAKE_FIND_ROOT_PATH "${TANDEM_AARCH64_SYSROOT}")
# pkg-config reads the root's .pc files and prefixes the paths they give.
set(ENV{PKG_CONFIG_SYSROOT_DIR} "${TANDEM_AARCH64_SYSROOT}")
set(ENV{PKG_CONFIG_LIBDIR}
    "${TANDEM_AARCH64_SYSROOT}/usr/lib/${TANDEM_AARCH64_TRIPLE}/pkgconfig:${TANDEM_AARCH64_SYSROOT}/usr/share/pkgconfig")

# Libraries, headers and packages only from the arm64 side; programs (qemu,
# pkg-config) from the host.
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

find_program(TANDEM_QEMU_AARCH64 NAMES qemu-aarch64 qemu-aarch64-static)
if(TANDEM_QEMU_AARCH64)
  # -L: the root the emulated program's loader and libraries come from.
  set(CMAKE_CROSSCOMPILING_EMULATOR "${TANDEM_QEMU_AARCH64};-L;${TANDEM_AARCH64_SYSROOT}")
endif()
