# io_sanitized_malformed: the DICOM readers under AddressSanitizer + UndefinedBehaviorSanitizer.
# cmake -DSOURCE_DIR= -DBUILD_DIR= -DGENERATOR= -DDATA_DIR= -P sanitize_io.cmake
# Configures a separate, torch-free build tree with -DECHO_SANITIZE=address,undefined, builds only
# test_io_real (echo_common + echo_io + the test), and runs the real-file and malformed-file tests.
# Incremental: a second run rebuilds nothing that did not change.
execute_process(
  COMMAND ${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${BUILD_DIR} -G ${GENERATOR}
          -DCMAKE_BUILD_TYPE=RelWithDebInfo -DECHO_SANITIZE=address,undefined -DECHO_WITH_TORCH=OFF
          -DECHO_BUILD_BENCHMARKS=OFF -DECHO_BUILD_TESTS=ON -DPython3_EXECUTABLE=/usr/bin/python3
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "configuring the sanitizer build failed:\n${out}\n${err}")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} --build ${BUILD_DIR} --target test_io_real -j 2
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "building test_io_real with -fsanitize=address,undefined failed:\n${out}\n${err}")
endif()

set(ENV{ASAN_OPTIONS} "detect_leaks=1 halt_on_error=1 detect_stack_use_after_return=1 strict_string_checks=1")
set(ENV{UBSAN_OPTIONS} "print_stacktrace=1 halt_on_error=1")
set(ENV{ECHO_SHARED_DATA_DIR} ${DATA_DIR})
execute_process(COMMAND ${BUILD_DIR}/tests/io/test_io_real --gtest_brief=1
                WORKING_DIRECTORY ${BUILD_DIR} RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "test_io_real failed under -fsanitize=address,undefined (exit ${rc})")
endif()
message(STATUS "test_io_real passed under -fsanitize=address,undefined")
