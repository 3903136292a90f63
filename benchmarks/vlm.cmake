# VLM: keyframes -> parsed answer (INT8 and fp32, with and without the key/value cache), tokens per second;
# and vlm_eval, the C++ side of models/vlm/evaluate_vlm.py (accuracy on unseen phantoms).
if(TARGET echo_vlm)
  echo_add_benchmark(bench_vlm SOURCES ${CMAKE_CURRENT_LIST_DIR}/vlm_bench.cpp LIBS echo_vlm)
  add_executable(vlm_eval ${CMAKE_CURRENT_LIST_DIR}/vlm_eval.cpp)
  target_link_libraries(vlm_eval PRIVATE echo_vlm nlohmann_json::nlohmann_json)
  echo_warnings(vlm_eval)
endif()
