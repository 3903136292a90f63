# DICOM decode throughput (frames/s): a 100-frame 640x480 JPEG-baseline YBR cine, GDCM's JPEG path against
# libjpeg-turbo through OpenCV, one thread and all cores. Results: benchmarks/RESULTS.md, "Decode".
echo_add_benchmark(io_decode_bench SOURCES ${CMAKE_CURRENT_LIST_DIR}/io_decode.cpp LIBS echo_io)
