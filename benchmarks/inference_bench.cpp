// Per-frame latency and throughput of the shipped LV model through echo::SegmentationModel (the path the
// SDK takes), FP32 against INT8, at batch 1 (streaming, one frame at a time) and batch 32 (a whole cine).
// Threads: ECHO_BENCH_THREADS (default 2, the scanner-CPU budget of the project's goal).
//   bench_inference --benchmark_repetitions=3 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "echo/inference.hpp"
#include "inference_bench_util.hpp"

namespace {

int bench_threads() {
  const char* env = std::getenv("ECHO_BENCH_THREADS");
  return env != nullptr ? std::atoi(env) : 2;
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
  const auto frames = echo_bench::frames_for(batch, model->input_size());
  if (!echo_bench::time_segment(state, *model, frames, batch)) return;
  state.counters["threads"] = bench_threads();
}

BENCHMARK_CAPTURE(BM_Segment, fp32, echo::Precision::fp32)->Arg(1)->Arg(32)->UseRealTime()->Unit(benchmark::kMillisecond)->MinTime(2.0);
BENCHMARK_CAPTURE(BM_Segment, int8, echo::Precision::int8)->Arg(1)->Arg(32)->UseRealTime()->Unit(benchmark::kMillisecond)->MinTime(2.0);

}  // namespace

BENCHMARK_MAIN();
