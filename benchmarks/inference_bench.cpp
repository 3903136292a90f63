// Per-frame latency and throughput of the shipped LV model through echo::SegmentationModel (the path the
// SDK takes), FP32 against INT8, at batch 1 (streaming, one frame at a time) and batch 32 (a whole cine).
// Threads: ECHO_BENCH_THREADS (default 2, the scanner-CPU budget of the project's goal).
//   bench_inference --benchmark_repetitions=3 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "echo/inference.hpp"

namespace {

int bench_threads() {
  const char* env = std::getenv("ECHO_BENCH_THREADS");
  return env != nullptr ? std::atoi(env) : 2;
}

// An apical-like normalised frame pattern (run time does not depend on the content).
std::vector<float> frames_for(int count, int size) {
  std::vector<float> frames(static_cast<std::size_t>(count) * size * size);
  for (std::size_t i = 0; i < frames.size(); ++i) frames[i] = 0.3f + 0.2f * std::sin(0.37f * static_cast<float>(i % 977));
  return frames;
}

std::shared_ptr<const echo::SegmentationModel> model_for(echo::Precision precision, int batch) {
  static std::map<std::pair<int, int>, std::shared_ptr<const echo::SegmentationModel>> cache;
  auto& slot = cache[{static_cast<int>(precision), batch}];
  if (!slot) {
    echo::EngineOptions options{echo::Device::cpu, precision, bench_threads(), batch};
    auto loaded = echo::SegmentationModel::load(echo::default_model_path(precision), options);
    if (loaded) slot = *loaded;
  }
  return slot;
}

void BM_Segment(benchmark::State& state, echo::Precision precision) {
  const int batch = static_cast<int>(state.range(0));
  auto model = model_for(precision, batch);
  if (!model) {
    state.SkipWithError("model did not load");
    return;
  }
  const auto frames = frames_for(batch, model->input_size());
  for (auto _ : state) {
    auto out = model->segment(frames.data(), batch);
    if (!out) {
      state.SkipWithError(out.error().message.c_str());
      return;
    }
    benchmark::DoNotOptimize(out->lv_masks.data());
  }
  const double frames_done = static_cast<double>(state.iterations()) * batch;
  state.counters["frames_per_s"] = benchmark::Counter(frames_done, benchmark::Counter::kIsRate);
  // Wall time per frame, printed with an SI prefix (e.g. "3.1ms").
  state.counters["time_per_frame"] =
      benchmark::Counter(frames_done, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.counters["threads"] = bench_threads();
}

BENCHMARK_CAPTURE(BM_Segment, fp32, echo::Precision::fp32)->Arg(1)->Arg(32)->UseRealTime()->Unit(benchmark::kMillisecond)->MinTime(2.0);
BENCHMARK_CAPTURE(BM_Segment, int8, echo::Precision::int8)->Arg(1)->Arg(32)->UseRealTime()->Unit(benchmark::kMillisecond)->MinTime(2.0);

}  // namespace

BENCHMARK_MAIN();
