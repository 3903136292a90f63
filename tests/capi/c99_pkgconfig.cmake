# Builds tests/capi/c99_client.c against the INSTALLED header and library, the way a C user would:
#   cc -std=c99 -pedantic -Werror client.c $(pkg-config --cflags --libs echoanalyzer)
# with PKG_CONFIG_PATH pointing into the install tree, then runs it on a phantom study. The install tree is
# relocatable, and the installed library finds its default model in <prefix>/share/echoanalyzer/models.
cmake_minimum_required(VERSION 3.20)
find_program(PKG_CONFIG pkg-config REQUIRED)
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})
set(ENV{PKG_CONFIG_PATH} "${PREFIX}/${LIBDIR}/pkgconfig")
execute_process(COMMAND ${PKG_CONFIG} --cflags --libs echoanalyzer RESULT_VARIABLE rc OUTPUT_VARIABLE flags
                ERROR_VARIABLE err OUTPUT_STRIP_TRAILING_WHITESPACE)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "pkg-config echoanalyzer failed: ${err}")
endif()
execute_process(COMMAND ${PKG_CONFIG} --variable=libdir echoanalyzer OUTPUT_VARIABLE libdir
                OUTPUT_STRIP_TRAILING_WHITESPACE)
message(STATUS "pkg-config: ${flags}")
# The .pc file is relocatable (${pcfiledir}-relative): its paths must land inside this install tree.
get_filename_component(libdir ${libdir} REALPATH)
get_filename_component(resolved_prefix ${PREFIX} REALPATH)
if(NOT libdir MATCHES "^${resolved_prefix}/")
  message(FATAL_ERROR "pkg-config libdir ${libdir} is outside the install tree ${resolved_prefix}")
endif()
if(NOT EXISTS ${resolved_prefix}/share/echoanalyzer/models)
  message(FATAL_ERROR "the install tree has no share/echoanalyzer/models")
endif()
separate_arguments(flag_list UNIX_COMMAND "${flags}")
execute_process(
  COMMAND ${CC} -std=c99 -pedantic -Wall -Wextra -Werror ${SOURCE} -o ${WORK_DIR}/c99_client ${flag_list}
          -Wl,-rpath,${libdir}
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "compiling the C99 client failed:\n${out}\n${err}")
endif()
# Run from a neutral folder with no model override: the installed library must find its own model.
unset(ENV{ECHO_MODEL_DIR})
execute_process(COMMAND ${WORK_DIR}/c99_client ${PHANTOM} WORKING_DIRECTORY ${WORK_DIR}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
message(STATUS "${out}${err}")
if(NOT rc EQUAL 0 OR NOT out MATCHES "EF [0-9]")
  message(FATAL_ERROR "the C99 client did not give an EF (exit ${rc})")
endif()
# It is linked against the installed library, not the build tree's.
execute_process(COMMAND ldd ${WORK_DIR}/c99_client OUTPUT_VARIABLE ldd_out)
if(NOT ldd_out MATCHES "libechoanalyzer\\.so\\.[0-9]+ => ${libdir}/")
  message(FATAL_ERROR "the client does not use the installed library ${libdir}:\n${ldd_out}")
endif()
