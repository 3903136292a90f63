if(TARGET echo_analyzer AND TARGET echo_synth)
  echo_add_benchmark(bench_session SOURCES ${CMAKE_CURRENT_LIST_DIR}/session_bench.cpp
    LIBS echo_analyzer echo_synth)
endif()
