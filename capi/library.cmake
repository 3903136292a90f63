# libechoanalyzer.so: the stable C ABI over the EchoAnalyzer, exporting only echo_* symbols.
# Export control, three layers: hidden visibility by default (top-level CMakeLists), a GNU version script
# that keeps only echo_* global, and --exclude-libs,ALL so that nothing from the static stage libraries
# (or any archive they pull in) is re-exported.

if(NOT TARGET echo_analyzer OR NOT TARGET echo_report)
  message(STATUS "libechoanalyzer: echo_analyzer / echo_report not defined yet; the C ABI is not built")
  return()
endif()

# The header's version macros must be this project's version (they are written out in echo.h so that the
# header stays readable and self-contained).
file(STRINGS ${CMAKE_CURRENT_SOURCE_DIR}/include/echo/echo.h echo_h_versions
     REGEX "^#define ECHO_(VERSION_MAJOR|VERSION_MINOR|VERSION_PATCH|ABI_VERSION) ")
set(echo_h_expected
    "#define ECHO_VERSION_MAJOR ${PROJECT_VERSION_MAJOR}" "#define ECHO_VERSION_MINOR ${PROJECT_VERSION_MINOR}"
    "#define ECHO_VERSION_PATCH ${PROJECT_VERSION_PATCH}" "#define ECHO_ABI_VERSION ${ECHO_ABI_VERSION}")
if(NOT echo_h_versions STREQUAL echo_h_expected)
  message(FATAL_ERROR "capi/include/echo/echo.h version macros (${echo_h_versions}) do not match the project "
                      "(${PROJECT_VERSION}, ABI ${ECHO_ABI_VERSION}): update the header")
endif()

set(ECHO_CAPI_VERSION_SCRIPT ${ECHO_SOURCE_ROOT}/cmake/echoanalyzer.map)
add_library(echoanalyzer SHARED
  ${CMAKE_CURRENT_SOURCE_DIR}/echo_capi_core.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/echo_capi.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/echo_capi_result.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/echo_capi_review.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/echo_capi_dicom.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/echo_capi_validate.cpp)
add_library(EchoAnalyzer::echoanalyzer ALIAS echoanalyzer)
target_include_directories(echoanalyzer
  PUBLIC $<BUILD_INTERFACE:${CMAKE_CURRENT_SOURCE_DIR}/include> $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>
  PRIVATE ${CMAKE_CURRENT_SOURCE_DIR} ${ECHO_SOURCE_ROOT}/src)
target_compile_definitions(echoanalyzer PRIVATE ECHO_BUILDING_LIBRARY=1)
target_link_libraries(echoanalyzer PRIVATE echo_analyzer echo_report echo_validation ${CMAKE_DL_LIBS})
target_link_options(echoanalyzer PRIVATE
  "LINKER:--exclude-libs,ALL"
  "LINKER:--version-script=${ECHO_CAPI_VERSION_SCRIPT}"
  "LINKER:--no-undefined"
  "LINKER:-z,defs")
set_target_properties(echoanalyzer PROPERTIES
  OUTPUT_NAME echoanalyzer
  VERSION ${PROJECT_VERSION}
  SOVERSION ${ECHO_ABI_VERSION}
  C_VISIBILITY_PRESET hidden
  CXX_VISIBILITY_PRESET hidden
  VISIBILITY_INLINES_HIDDEN ON
  LINK_DEPENDS ${ECHO_CAPI_VERSION_SCRIPT})
echo_warnings(echoanalyzer)

# --- install: library (SONAME + symlinks), headers, CMake package, pkg-config --------------------------
include(CMakePackageConfigHelpers)
set(ECHO_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/EchoAnalyzer)
set(ECHO_INSTALL_MODELDIR ${CMAKE_INSTALL_DATADIR}/echoanalyzer/models)

install(TARGETS echoanalyzer EXPORT EchoAnalyzerTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} NAMELINK_COMPONENT Development
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(FILES ${CMAKE_CURRENT_SOURCE_DIR}/include/echo/echo.h ${CMAKE_CURRENT_SOURCE_DIR}/include/echo/echo_cxx.hpp
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/echo)
# The C++ API headers (source-level reference of the C++ types; the binary interface of the library is the
# C ABI above, which echo_cxx.hpp wraps for C++ callers).
install(DIRECTORY ${ECHO_SOURCE_ROOT}/include/echo DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
  FILES_MATCHING PATTERN "*.hpp")
install(EXPORT EchoAnalyzerTargets NAMESPACE EchoAnalyzer:: DESTINATION ${ECHO_INSTALL_CMAKEDIR})
configure_package_config_file(${ECHO_SOURCE_ROOT}/cmake/EchoAnalyzerConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/EchoAnalyzerConfig.cmake
  INSTALL_DESTINATION ${ECHO_INSTALL_CMAKEDIR}
  PATH_VARS ECHO_INSTALL_MODELDIR)
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/EchoAnalyzerConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMajorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/EchoAnalyzerConfig.cmake
              ${CMAKE_CURRENT_BINARY_DIR}/EchoAnalyzerConfigVersion.cmake
  DESTINATION ${ECHO_INSTALL_CMAKEDIR})

# pkg-config: relative to its own folder, so that an install tree can be moved (or installed elsewhere
# with `cmake --install --prefix`).
file(RELATIVE_PATH ECHO_PC_RELATIVE_PREFIX "/root/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/root")
string(REGEX REPLACE "/$" "" ECHO_PC_RELATIVE_PREFIX "${ECHO_PC_RELATIVE_PREFIX}")
configure_file(${ECHO_SOURCE_ROOT}/cmake/echoanalyzer.pc.in ${CMAKE_CURRENT_BINARY_DIR}/echoanalyzer.pc @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/echoanalyzer.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

# The Python bindings (pure Python, ctypes): <prefix>/lib/python3/dist-packages/echoanalyzer, which finds
# <prefix>/lib/libechoanalyzer.so.N by itself.
install(DIRECTORY ${ECHO_SOURCE_ROOT}/bindings/python/echoanalyzer
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/python3/dist-packages
  PATTERN "__pycache__" EXCLUDE PATTERN "*.pyc" EXCLUDE)
