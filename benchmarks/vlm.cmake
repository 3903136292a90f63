# VLM: keyframes -> parsed answer (INT8 and fp32, with and without the key/value cache), tokens per second.
if(TARGET echo_vlm)
  echo_add_benchmark(bench_vlm SOURCES ${CMAKE_CURRENT_LIST_DIR}/vlm_bench.cpp LIBS echo_vlm)
endif()
