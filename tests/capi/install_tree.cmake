# `cmake --install` of the whole build into a fresh scratch prefix (cmake -DBUILD_DIR= -DPREFIX= -P ...).
cmake_minimum_required(VERSION 3.20)
file(REMOVE_RECURSE ${PREFIX})
execute_process(COMMAND ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${PREFIX}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "cmake --install failed:\n${out}\n${err}")
endif()
# What a user of the install tree relies on.
file(GLOB libraries ${PREFIX}/lib*/libechoanalyzer.so.*)
set(missing "")
foreach(path include/echo/echo.h include/echo/echo_cxx.hpp include/echo/analyzer.hpp bin/echoa
             share/echoanalyzer/models)
  if(NOT EXISTS ${PREFIX}/${path})
    list(APPEND missing ${path})
  endif()
endforeach()
file(GLOB_RECURSE configs ${PREFIX}/*/EchoAnalyzerConfig.cmake ${PREFIX}/*/echoanalyzer.pc)
list(LENGTH configs config_count)
if(missing OR NOT libraries OR NOT config_count EQUAL 2)
  message(FATAL_ERROR "the install tree lacks: ${missing} libraries=[${libraries}] configs=[${configs}]")
endif()
message(STATUS "installed into ${PREFIX}: ${libraries}")
