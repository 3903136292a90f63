# ECHO_INFERENCE_ONLY=ON: echo_common, the inference engine (src/inference), test_common, the inference
# tests and the inference benchmarks, and nothing that needs OpenCV, GDCM or Eigen. It is for a machine that
# has a (CUDA) LibTorch and a compiler but none of the distribution's -dev packages, such as the GPU
# machine of scripts/gpu_check.sh, which brings tl-expected, nlohmann-json, GTest and Google Benchmark in a
# prefix copied from this machine's Debian packages (docs/model.md, "CUDA").
find_package(tl-expected REQUIRED)
find_package(nlohmann_json 3 REQUIRED)
find_package(Threads REQUIRED)
find_package(Torch REQUIRED)
message(STATUS "ECHO_INFERENCE_ONLY: LibTorch ${Torch_VERSION} at ${TORCH_INSTALL_PREFIX}, flags '${TORCH_CXX_FLAGS}'")
# TORCH_CXX_FLAGS holds -D_GLIBCXX_USE_CXX11_ABI=<0|1>: every target (the tests' GTest too) must use the
# std::string ABI of the LibTorch it links.
string(APPEND CMAKE_CXX_FLAGS " ${TORCH_CXX_FLAGS}")

add_subdirectory(src)   # src/CMakeLists.txt adds only echo_common and echo_inference in this mode

if(ECHO_BUILD_TESTS)
  enable_testing()
  find_package(GTest REQUIRED)
  include(GoogleTest)
  add_subdirectory(tests)   # test_common and tests/inference only
endif()
if(ECHO_BUILD_BENCHMARKS)
  find_package(benchmark REQUIRED)
  add_subdirectory(benchmarks)   # benchmarks/inference.cmake only
endif()
