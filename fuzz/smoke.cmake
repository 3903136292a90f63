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
foreach(target IN LISTS TARGETS)
  execute_process(COMMAND ${SOURCE_DIR}/scripts/fuzz.sh ${target} ${SECONDS} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "fuzz_${target} found a problem (exit ${rc}); see ${BUILD_DIR}/fuzz/artifacts/${target}/")
  endif()
endforeach()

# The damaged-files driver (fuzz_dicom_damage over DATA_DIR) is not part of the smoke yet: GDCM's palette lookup
# table code still aborts on some damaged palette files (docs/reliability.md, "Not done").
message(STATUS "fuzz smoke passed: ${TARGETS}, ${SECONDS} s each")
