# Geometry per frame (mask -> contour, annulus, apex, discs, volumes): goals 112x112 <= 0.1 ms, 600x800 <= 1 ms.
echo_add_benchmark(bench_geometry SOURCES ${CMAKE_CURRENT_LIST_DIR}/geometry_bench.cpp LIBS echo_geometry echo_cardiac)
