# Phantom generation time: a 100-frame 800x600 case (goal: under 2 s on 2 cores). Results:
# benchmarks/RESULTS.md, "Phantom".
if(TARGET echo_synth)
  echo_add_benchmark(synth_bench SOURCES ${CMAKE_CURRENT_LIST_DIR}/synth_bench.cpp LIBS echo_synth)
endif()
