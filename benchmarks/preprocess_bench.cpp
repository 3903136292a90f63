// Preprocessing and quality-gate speed on a 100-frame 640x480 echo-like cine (the test builder of
// tests/quality/quality_cines.hpp: speckle fan, beating cavity, overlays).
#include <benchmark/benchmark.h>

#include <vector>

#include "echo/preprocess.hpp"
#include "echo/quality.hpp"
#include "quality_cines.hpp"

namespace {

const echo::Cine& cine_640x480() {
  static const echo::Cine cine = [] {
    quality_test::CineSpec spec;
    spec.width = 640;
    spec.height = 480;
    spec.frames = 100;
    return quality_test::echo_like_cine(spec);
  }();
  return cine;
}

const echo::Preprocessed& preprocessed() {
  static const echo::Preprocessed pre = *echo::preprocess(cine_640x480());
  return pre;
}

// One 640x480 frame to the 112x112 model input, sector and mapping prepared once (the streaming path).
void BM_PreprocessFrame640x480(benchmark::State& state) {
  const echo::Cine& cine = cine_640x480();
  const echo::Preprocessed& pre = preprocessed();
  std::vector<float> out(112 * 112);
  int frame = 0;
  for (auto _ : state) {
    echo::preprocess_frame(cine.frame(frame), cine.rows, cine.cols, pre.sector, pre.mapping, pre.spec, out.data());
    benchmark::DoNotOptimize(out.data());
    frame = (frame + 1) % cine.frame_count();
  }
  state.counters["crop_side_px"] = pre.mapping.crop_side;
}
BENCHMARK(BM_PreprocessFrame640x480)->Unit(benchmark::kMicrosecond);

// The whole cine: sector detection, colour check, and all 100 frames.
void BM_PreprocessCine100x640x480(benchmark::State& state) {
  const echo::Cine& cine = cine_640x480();
  for (auto _ : state) {
    auto pre = echo::preprocess(cine);
    benchmark::DoNotOptimize(pre->model_input.data());
  }
  state.counters["ms_per_frame"] = benchmark::Counter(100.0, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_PreprocessCine100x640x480)->Unit(benchmark::kMillisecond);

// The same on one thread (CPU time = all the work), the sector searched on the reduced copy (arg 240, the
// default) or at full size (arg 0: the path before issue 14).
void BM_PreprocessCine100x640x480OneThread(benchmark::State& state) {
  const echo::Cine& cine = cine_640x480();
  echo::PreprocessOptions options;
  options.sector.min_search_side_px = static_cast<int>(state.range(0));
  options.threads = 1;
  for (auto _ : state) {
    auto pre = echo::preprocess(cine, {}, options);
    benchmark::DoNotOptimize(pre->model_input.data());
  }
}
BENCHMARK(BM_PreprocessCine100x640x480OneThread)->Arg(240)->Arg(0)->Unit(benchmark::kMillisecond);

// Arg: SectorOptions::min_search_side_px (240: searched at 320x240, the default; 0: at full size).
void BM_DetectSector100x640x480(benchmark::State& state) {
  const echo::Cine& cine = cine_640x480();
  echo::SectorOptions options;
  options.min_search_side_px = static_cast<int>(state.range(0));
  for (auto _ : state) {
    auto sector = echo::detect_sector(cine, options);
    benchmark::DoNotOptimize(sector.mask.pixels.data());
  }
}
BENCHMARK(BM_DetectSector100x640x480)->Arg(240)->Arg(0)->Unit(benchmark::kMillisecond);

// The gate's metrics and decision for the 100-frame cine, given its preprocessing.
void BM_QualityGate100Frames(benchmark::State& state) {
  const echo::Cine& cine = cine_640x480();
  const echo::Preprocessed& pre = preprocessed();
  for (auto _ : state) {
    auto report = echo::assess_quality(cine, pre);
    benchmark::DoNotOptimize(report.score);
  }
}
BENCHMARK(BM_QualityGate100Frames)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
