// Geometry per frame: one LV mask -> contour, annulus, apex, 20 discs, both volumes.
// Goals (issue 4): 112x112 mask <= 0.1 ms, 600x800 mask <= 1 ms. Also the per-cine timing analysis.
#include <benchmark/benchmark.h>

#include <cmath>
#include <vector>

#include "../tests/geometry/analytic_lv.hpp"
#include "echo/cardiac.hpp"
#include "echo/geometry.hpp"

namespace {

// An LV the size a segmentation model gives at end-diastole: 112x112 (EchoNet-Dynamic input) with an
// LV ~40x60 px, and a 800x600 scanner frame with an LV ~180x270 px, tilted like an apical view.
echo::Image8 lv_mask(int width, int height, double b_px) {
  echo_test::TruncatedEllipse shape;
  shape.b = b_px, shape.a = 2 * b_px, shape.h = b_px, shape.angle_deg = 100;
  shape.centre_x = width / 2.0 + 0.3, shape.centre_y = height / 2.0 - 0.2;
  return shape.rasterise(width, height);
}

void BM_MeasureLv_112x112(benchmark::State& state) {
  const echo::Image8 mask = lv_mask(112, 112, 20);
  for (auto _ : state) benchmark::DoNotOptimize(echo::measure_lv(mask, {0.3, 0.3}));
}
BENCHMARK(BM_MeasureLv_112x112)->Unit(benchmark::kMicrosecond);

void BM_MeasureLv_600x800(benchmark::State& state) {
  const echo::Image8 mask = lv_mask(800, 600, 90);
  for (auto _ : state) benchmark::DoNotOptimize(echo::measure_lv(mask, {0.3, 0.3}));
}
BENCHMARK(BM_MeasureLv_600x800)->Unit(benchmark::kMicrosecond);

// A 3-beat, 150-frame volume curve -> beats, ED/ES, EF.
void BM_AnalyzeVolumeCurve_150frames(benchmark::State& state) {
  std::vector<double> volume, times;
  for (int i = 0; i < 150; ++i) {
    times.push_back(20.0 * i);
    volume.push_back(100 + 30 * std::cos(2 * 3.14159265358979 * times.back() / 900.0));
  }
  for (auto _ : state) benchmark::DoNotOptimize(echo::analyze_volume_curve(volume, times, {}));
}
BENCHMARK(BM_AnalyzeVolumeCurve_150frames)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
