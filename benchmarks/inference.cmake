# Inference engine speed: per-frame latency and frames/s of the shipped models, FP32 and INT8, batch 1 and 32.
if(TARGET echo_inference)
  echo_add_benchmark(bench_inference SOURCES ${CMAKE_CURRENT_LIST_DIR}/inference_bench.cpp
                     LIBS echo_inference nlohmann_json::nlohmann_json)
  # Batched segmentation on CUDA, FP16 and FP32, batch 32..1024 (skips where no CUDA; scripts/gpu_check.sh).
  echo_add_benchmark(bench_inference_cuda SOURCES ${CMAKE_CURRENT_LIST_DIR}/inference_cuda_bench.cpp
                     LIBS echo_inference)
endif()
