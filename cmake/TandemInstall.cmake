# Install rules, the exported CMake package (tandem::tandem), a version file and
# a pkg-config file.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(TANDEM_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/Tandem)

install(TARGETS tandem EXPORT TandemTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
if(TARGET tandem_cli)
  install(TARGETS tandem_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()
install(DIRECTORY include/tandem DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(FILES ${PROJECT_BINARY_DIR}/include/tandem/config.hpp
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/tandem)

install(EXPORT TandemTargets NAMESPACE tandem:: DESTINATION ${TANDEM_CMAKE_DIR})
export(EXPORT TandemTargets NAMESPACE tandem::
       FILE ${PROJECT_BINARY_DIR}/TandemTargets.cmake)

# A static libtandem brings its dependencies into every link: the CMake
# package finds them again and tandem.pc names them as private requirements
# (pkg-config --static); a shared one keeps both light.
get_target_property(_tandem_type tandem TYPE)
set(TANDEM_STATIC OFF)
set(TANDEM_PC_REQUIRES_PRIVATE "")
set(TANDEM_PC_LIBS_PRIVATE "")
if(_tandem_type STREQUAL "STATIC_LIBRARY")
  set(TANDEM_STATIC ON)
  set(TANDEM_PC_REQUIRES_PRIVATE "hwloc >= 2.0, liburing, openblas, libpng, libjpeg, libtiff-4, libhwy, libhwy-contrib")
  if(TANDEM_WITH_ISAL)
    string(APPEND TANDEM_PC_REQUIRES_PRIVATE ", libisal")
  endif()
  set(_libs ${OpenMP_CXX_LIB_NAMES})
  if(TANDEM_WITH_CUDA)
    string(APPEND TANDEM_PC_LIBS_PRIVATE "-L${CUDAToolkit_LIBRARY_DIR} ")
    list(APPEND _libs cudart_static rt)
  endif()
  list(APPEND _libs ${CMAKE_DL_LIBS})
  list(REMOVE_DUPLICATES _libs)
  list(TRANSFORM _libs PREPEND "-l")
  list(JOIN _libs " " _libs)
  string(APPEND TANDEM_PC_LIBS_PRIVATE "${_libs}")
endif()

configure_package_config_file(cmake/TandemConfig.cmake.in
  ${PROJECT_BINARY_DIR}/TandemConfig.cmake
  INSTALL_DESTINATION ${TANDEM_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/TandemConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/TandemConfig.cmake
              ${PROJECT_BINARY_DIR}/TandemConfigVersion.cmake
        DESTINATION ${TANDEM_CMAKE_DIR})

file(RELATIVE_PATH TANDEM_PC_TO_PREFIX /prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig /prefix)
configure_file(cmake/tandem.pc.in ${PROJECT_BINARY_DIR}/tandem.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/tandem.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
install(FILES README.md LICENSE DESTINATION ${CMAKE_INSTALL_DOCDIR} OPTIONAL)
