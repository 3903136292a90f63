# Preprocessing and quality gate speed (goals: < 0.5 ms per 640x480 frame to the model input; gate metrics
# of a 100-frame cine < 20 ms). Results: benchmarks/RESULTS.md, "Preprocess and quality".
echo_add_benchmark(preprocess_bench
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/preprocess_bench.cpp
  LIBS echo_quality echo_preprocess opencv_core opencv_imgproc)
target_include_directories(preprocess_bench PRIVATE ${ECHO_SOURCE_ROOT}/tests/quality)
