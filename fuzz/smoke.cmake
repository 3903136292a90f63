# ctest fuzz_smoke: configures the libFuzzer tree (clang-14, -DECHO_FUZZ=ON) in BUILD_DIR, runs every fuzz target
# for SECONDS on its seed corpus through scripts/fuzz.sh. Any crash, sanitizer report, leak, timeout (> 5 s) or OOM (> 2048 MB) fails.
# cmake -DSOURCE_DIR= -DBUILD_DIR= -DDATA_DIR= -DSECONDS= -DTARGETS=dicom,video,frames,masks -P smoke.cmake
string(REPLACE "," ";" TARGETS "${TARGETS}")
execute_process(
  COMMAND ${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${BUILD_DIR} -DCMAKE_BUILD_TYPE=RelWithDebInfo
          -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 -DECHO_FUZZ=ON -DECHO_BUILD_TESTS=OFF
          -DECHO_BUILD_BENCHMARKS=OFF -DPython3_EXECUTABLE=/usr/bin/python3
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "configuring the fuzz tree failed:\n${out}\n${err}")
endif()
set(build_targets fuzz_dicom_damage)
foreach(target IN LISTS TARGETS)
  list(APPEND build_targets fuzz_${target})
endforeach()
execute_process(COMMAND ${CMAKE_COMMAND} --build ${BUILD_DIR} -j 2 --target ${build_targets}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "building the fuzz targets failed:\n${out}\n${err}")
endif()

set(ENV{ECHO_FUZZ_BUILD_DIR} ${BUILD_DIR})
# A fixed libFuzzer seed: the same mutations in the same order on every machine, so that CI does not fail at
# random on a finding that a longer run here did not make (the long runs use random seeds: docs/reliability.md).
foreach(target IN LISTS TARGETS)
  execute_process(COMMAND ${SOURCE_DIR}/scripts/fuzz.sh ${target} ${SECONDS} -seed=1 RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "fuzz_${target} found a problem (exit ${rc}); see ${BUILD_DIR}/fuzz/artifacts/${target}/")
  endif()
endforeach()

# A few damaged copies of every real file (5 truncations, 10 byte flips each) through the dicom harness.
if(EXISTS "${DATA_DIR}/EXPECTED.tsv")
  execute_process(COMMAND ${CMAKE_COMMAND} -E env ASAN_OPTIONS=detect_leaks=1:halt_on_error=1
                          LSAN_OPTIONS=suppressions=${SOURCE_DIR}/fuzz/lsan.supp:print_suppressions=0
                          ${BUILD_DIR}/fuzz/fuzz_dicom_damage --truncations 5 --flips 10 ${DATA_DIR}
                  RESULT_VARIABLE rc OUTPUT_QUIET)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "fuzz_dicom_damage failed on a damaged copy of ${DATA_DIR} (exit ${rc})")
  endif()
else()
  message(STATUS "damaged-files part skipped: ${DATA_DIR} absent")
endif()
message(STATUS "fuzz smoke passed: ${TARGETS}, ${SECONDS} s each")
