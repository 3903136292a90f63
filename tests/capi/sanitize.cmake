# One sanitizer run of a C ABI test program (cmake -DSOURCE_DIR= -DBUILD_DIR= -DSANITIZE= -DTARGET= -DRUN_ARGS=
# -DPHANTOM_DIR= -DSUPPRESSIONS= -DGENERATOR= -P sanitize.cmake): configures a separate build tree with
# -DECHO_SANITIZE=<SANITIZE>, builds only <TARGET> (and what it links), and runs it. Incremental: a second
# run rebuilds nothing that did not change.
cmake_minimum_required(VERSION 3.20)
execute_process(
  COMMAND ${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${BUILD_DIR} -G ${GENERATOR}
          -DCMAKE_BUILD_TYPE=RelWithDebInfo -DECHO_SANITIZE=${SANITIZE} -DECHO_BUILD_BENCHMARKS=OFF
          -DECHO_BUILD_TESTS=ON -DPython3_EXECUTABLE=/usr/bin/python3
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "configuring the ${SANITIZE} build failed:\n${out}\n${err}")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} --build ${BUILD_DIR} --target ${TARGET} -j 2
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "building ${TARGET} with -fsanitize=${SANITIZE} failed:\n${out}\n${err}")
endif()

# The phantoms of the normal build, where the sanitizer build's test program looks for them.
file(GLOB phantoms ${PHANTOM_DIR}/*.dcm)
file(COPY ${phantoms} DESTINATION ${BUILD_DIR}/tests/capi/phantoms)

# TSan: LibTorch, OpenCV (and its TBB pool), GDAL and GDCM are not instrumented, so TSan cannot see their
# internal synchronisation: memory handed between their worker threads looks like a race.
# ignore_noninstrumented_modules=1 makes TSan ignore accesses made from inside those libraries; every access
# made by the SDK's own (instrumented) code is still checked. tsan.supp lists the rest, library by library.
set(ENV{TSAN_OPTIONS}
    "suppressions=${SUPPRESSIONS} ignore_noninstrumented_modules=1 halt_on_error=1 second_deadlock_stack=1")
# LSan: leaks inside GDCM on damaged input only (lsan.supp says which); everything else counts.
get_filename_component(supp_dir ${SUPPRESSIONS} DIRECTORY)
set(ENV{ASAN_OPTIONS} "detect_leaks=1 fast_unwind_on_malloc=0 halt_on_error=1 detect_stack_use_after_return=1 strict_string_checks=1")
set(ENV{LSAN_OPTIONS} "suppressions=${supp_dir}/lsan.supp print_suppressions=0")
set(ENV{UBSAN_OPTIONS} "print_stacktrace=1 halt_on_error=1")
set(ENV{OMP_NUM_THREADS} "1")
execute_process(COMMAND ${BUILD_DIR}/tests/capi/${TARGET} ${RUN_ARGS}
                WORKING_DIRECTORY ${BUILD_DIR} RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${TARGET} failed under -fsanitize=${SANITIZE} (exit ${rc})")
endif()
message(STATUS "${TARGET} passed under -fsanitize=${SANITIZE}")
