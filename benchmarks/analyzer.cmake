if(TARGET echo_analyzer AND TARGET echo_synth)
  echo_add_benchmark(bench_analyzer SOURCES ${CMAKE_CURRENT_LIST_DIR}/analyzer_bench.cpp
    LIBS echo_analyzer echo_synth)
endif()
