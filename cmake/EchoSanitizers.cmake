# ECHO_SANITIZE=address,undefined (or thread) instruments every target of the build.
if(ECHO_SANITIZE)
  add_compile_options(-fsanitize=${ECHO_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${ECHO_SANITIZE})
endif()
# ECHO_FUZZ=ON (clang): every target gets coverage instrumentation for libFuzzer plus ASan + UBSan; only the
# fuzz targets themselves link libFuzzer's main (fuzz/CMakeLists.txt). docs/reliability.md.
if(ECHO_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "ECHO_FUZZ=ON needs clang (e.g. -DCMAKE_CXX_COMPILER=clang++-14 -DCMAKE_C_COMPILER=clang-14)")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()
